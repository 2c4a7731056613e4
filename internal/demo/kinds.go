package demo

import (
	"slices"

	"github.com/placerhq/placer/node"
)

// The process kinds of the demo. Closures cannot cross the wire, so the
// seed's `Node.spawn(node, fn -> ... end)` becomes a spawn of a kind that
// every node registered.
const (
	// demoTodoKind is the keyed process of the seed's todo app: one per list
	// name, started on the name's owner, moved with its items.
	demoTodoKind = "todo_list"
	// demoResponderKind is `fn -> send(caller, {:response, 10 * n}) end`.
	demoResponderKind = "demo.responder"
	// demoServerKind is a GenServer registered under one name on every node,
	// for GenServer.abcast and GenServer.multi_call.
	demoServerKind = "demo.server"
)

// demoTodoState is what a todo list holds and hands off.
type demoTodoState struct {
	Name  string   `json:"name"`
	Items []string `json:"items"`
}

// demoTodoReq is a message or call to a todo list: "add" an item, "merge"
// items (union, in order), or "get" (calls only). A call returns the state.
type demoTodoReq struct {
	Op    string   `json:"op"`
	Item  string   `json:"item,omitempty"`
	Items []string `json:"items,omitempty"`
}

type demoTodoList struct {
	node.Base
	st demoTodoState
}

func newDemoTodoList() node.Behavior { return &demoTodoList{} }

func (l *demoTodoList) Init(_ *node.Proc, key []byte) error {
	l.st = demoTodoState{Name: string(key), Items: []string{}}
	return nil
}

func (l *demoTodoList) HandleMessage(p *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok {
		if req, err := node.Decode[demoTodoReq](p, msg.Payload); err == nil {
			l.apply(req)
		}
	}
}

func (l *demoTodoList) HandleCall(p *node.Proc, _ node.PID, b []byte) ([]byte, error) {
	req, err := node.Decode[demoTodoReq](p, b)
	if err != nil {
		return nil, err
	}
	l.apply(req)
	return node.Encode(p, l.st)
}

func (l *demoTodoList) apply(req demoTodoReq) {
	switch req.Op {
	case "add":
		l.st.Items = append(l.st.Items, req.Item)
	case "merge":
		for _, it := range req.Items {
			if !slices.Contains(l.st.Items, it) {
				l.st.Items = append(l.st.Items, it)
			}
		}
	}
}

// ExportState hands the list over (node.StateExporter).
func (l *demoTodoList) ExportState(p *node.Proc) ([]byte, error) { return node.Encode(p, l.st) }

// ImportState takes a handed-off list over (node.StateImporter).
func (l *demoTodoList) ImportState(p *node.Proc, b []byte) error {
	st, err := node.Decode[demoTodoState](p, b)
	if err == nil {
		l.st = st
	}
	return err
}

// demoResponderArgs tells a responder whom to answer and with what.
type demoResponderArgs struct {
	Caller node.PID `json:"caller"`
	N      int      `json:"n"`
}

// demoResponse is {:response, 10 * n}.
type demoResponse struct {
	Response int `json:"response"`
}

type demoResponder struct{ node.Base }

func newDemoResponder() node.Behavior { return demoResponder{} }

// Init sends {:response, 10 * n} to the caller and ends the process.
func (demoResponder) Init(p *node.Proc, args []byte) error {
	a, err := node.Decode[demoResponderArgs](p, args)
	if err != nil {
		return err
	}
	p.Exit(node.Reason{Kind: node.Normal})
	return node.SendT(p, a.Caller, demoResponse{10 * a.N})
}

// demoServerReply is what a demo server answers to a call.
type demoServerReply struct {
	Node  string   `json:"node"`
	Casts []string `json:"casts"`
}

// demoServer records the casts it got and answers calls with its node and
// those casts.
type demoServer struct {
	node.Base
	casts []string
}

func newDemoServer() node.Behavior { return &demoServer{casts: []string{}} }

func (s *demoServer) HandleMessage(p *node.Proc, m node.Msg) {
	if msg, ok := m.(node.Message); ok {
		if v, err := node.Decode[string](p, msg.Payload); err == nil {
			s.casts = append(s.casts, v)
		}
	}
}

func (s *demoServer) HandleCall(p *node.Proc, _ node.PID, _ []byte) ([]byte, error) {
	return node.Encode(p, demoServerReply{Node: p.Node().Self(), Casts: s.casts})
}
