package history

// Op types: what a load generator did or saw.
const (
	// OpWrite: a call `set F V` to a kv key, F unique per write
	// ("a.<node>.<seq>"), V its sequence number. OK means acknowledged.
	OpWrite = "write"
	// OpIncr: a call "1" to a counter key (add one). OK means acknowledged.
	OpIncr = "incr"
	// OpSend: a send `set o.<node> <seq>` to a kv key (the sender's order
	// register); OK means handed over (at most once, not acknowledged).
	OpSend = "send"
	// OpRead: a call `get o.<node>` (Order: the register, -1 if absent),
	// then `get` of the anchor, the last write acknowledged before the
	// stream's previous read began (Probe: its sequence number, 0 for none;
	// Intact: present). Sent: the last send handed over before the read
	// began; Seq: the sends attempted before it.
	OpRead = "read"
	// OpMonitor: EnsureProcess of a kv key, then a monitor of its PID
	// (Ref).
	OpMonitor = "monitor"
	// OpDown: the DOWN of monitor Ref (PID, Reason).
	OpDown = "down"
	// OpWatch: a membership or view event the node's agent reported
	// (Field: its type, Value: the member, Err: the reason).
	OpWatch = "watch"
	// OpFinalKV: the final state of a kv key (`all`; Value: the JSON map).
	OpFinalKV = "final-kv"
	// OpFinalCounter: the final value of a counter key (Value).
	OpFinalCounter = "final-counter"
	// OpFinalWhereis: the final PID of a kv key's process (PID).
	OpFinalWhereis = "final-whereis"
)

// Error codes of a failed Op (Op.Code), classified by the load generator
// with errors.Is.
const (
	CodeNoQuorum     = "noquorum"
	CodeNoConnection = "noconnection"
	CodeTimeout      = "timeout"
	CodeNotOwner     = "notowner"
	CodeBusy         = "busy"
	CodeNoMembers    = "nomembers"
	CodeShutdown     = "shutdown"
	CodeNoProc       = "noproc"
	CodeOther        = "other"
)

// Op is one operation of a load generator: one JSON line.
type Op struct {
	Start  int64  `json:"t0"`           // CLOCK_MONOTONIC ns when it began
	End    int64  `json:"t1,omitempty"` // when it returned (= Start for events)
	Node   string `json:"node"`         // the agent the generator talks to
	Type   string `json:"type"`         // Op* above
	Key    string `json:"key,omitempty"`
	Field  string `json:"field,omitempty"`
	Value  string `json:"value,omitempty"`
	Seq    int64  `json:"seq,omitempty"`   // write, incr, send: the stream's sequence number; read: sends attempted
	Order  int64  `json:"order,omitempty"` // read: the order register (-1 absent)
	Sent   int64  `json:"sent,omitempty"`  // read: last send before it
	Probe  int64  `json:"probe,omitempty"` // read: the acknowledged write probed (0: none yet)
	Intact bool   `json:"intact,omitempty"`
	OK     bool   `json:"ok"`
	Code   string `json:"code,omitempty"` // Code* above, when !OK
	Err    string `json:"err,omitempty"`
	PID    string `json:"pid,omitempty"`
	Ref    uint64 `json:"ref,omitempty"`
}

// Mark types: what the harness did or observed.
const (
	// MarkFault: a fault injected (Label: what, Nodes: its targets,
	// Sides: the sides of a cut).
	MarkFault = "fault"
	// MarkHeal: the fault undone (SIGCONT, links up, rules removed, a
	// restarted node), Label and Nodes as its fault's.
	MarkHeal = "heal"
	// MarkDetected: every observing node's view reflects the fault
	// (Nodes: the nodes whose views were read).
	MarkDetected = "detected"
	// MarkMerged: every live node's view lists every live node with one
	// checksum.
	MarkMerged = "merged"
	// MarkOwners: the owner of every key in Nodes[0]'s view (Owners).
	MarkOwners = "owners"
	// MarkHosted: the keyed processes every reachable node hosts (Copies:
	// "kind/key" -> nodes, with ":state" unless active; PIDs: "kind/key" ->
	// the PIDs of their processes; Nodes: the nodes that answered).
	MarkHosted = "hosted"
	// MarkView: one node's view (Nodes[0]: the node; Members; Quorum).
	MarkView = "view"
	// MarkPhase: a step of the scenario (Label), for the report.
	MarkPhase = "phase"
)

// Mark is one record of the harness: one JSON line.
type Mark struct {
	T       int64               `json:"t"`
	Type    string              `json:"type"`
	Label   string              `json:"label,omitempty"`
	Nodes   []string            `json:"nodes,omitempty"`
	Sides   [][]string          `json:"sides,omitempty"`
	Members []string            `json:"members,omitempty"`
	Quorum  *bool               `json:"quorum,omitempty"`
	Owners  map[string]string   `json:"owners,omitempty"`
	Copies  map[string][]string `json:"copies,omitempty"`
	PIDs    map[string][]string `json:"pids,omitempty"`
}
