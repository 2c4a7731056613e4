package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// pki writes CAs and certificates into a temporary directory.
type pki struct {
	t   *testing.T
	dir string
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newPKI(t *testing.T) *pki { return &pki{t: t, dir: t.TempDir()} }

func (p *pki) key() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

func (p *pki) write(name, typ string, der []byte) string {
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return f
}

func (p *pki) ca(name string) *authority {
	k := p.key()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		p.t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &authority{cert: c, key: k, file: p.write(name+".pem", "CERTIFICATE", der)}
}

// leaf issues a certificate for hosts (IPs or DNS names) valid in [from, to].
func (p *pki) leaf(ca *authority, name string, hosts []string, from, to time.Time) (certFile, keyFile string) {
	k := p.key()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		p.t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	return p.write(name+".pem", "CERTIFICATE", der), p.write(name+".key", "EC PRIVATE KEY", kb)
}

func (p *pki) tlsConfig(ca *authority, name string, hosts []string, from, to time.Time) *tls.Config {
	cert, key := p.leaf(ca, name, hosts, from, to)
	cfg, err := TLSFromFiles(cert, key, ca.file)
	if err != nil {
		p.t.Fatal(err)
	}
	return cfg
}

// tlsWorld is a CA with valid certificates for two nodes on 127.0.0.1, and
// a second, untrusted CA.
type tlsWorld struct {
	p          *pki
	ca, rogue  *authority
	good       func(name string) *tls.Config
	now, later time.Time
}

func newTLSWorld(t *testing.T) *tlsWorld {
	w := &tlsWorld{p: newPKI(t), now: time.Now().Add(-time.Hour), later: time.Now().Add(time.Hour)}
	w.ca, w.rogue = w.p.ca("ca"), w.p.ca("rogue")
	w.good = func(name string) *tls.Config {
		return w.p.tlsConfig(w.ca, name, []string{"127.0.0.1", "localhost"}, w.now, w.later)
	}
	return w
}

// tlsNodes starts a TLS acceptor b and a dialer a with the given configs.
func tlsNodes(t *testing.T, da, db *tls.Config) (*node, *node, *syncBuffer) {
	logs := &syncBuffer{}
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.TLS, cb.TLS = da, db
	cb.Logger = zerolog.New(logs)
	a, b := startNode(t, ca), startNode(t, cb)
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	return a, b, logs
}

func TestTLSSuccess(t *testing.T) {
	w := newTLSWorld(t)
	a, b, _ := tlsNodes(t, w.good("a"), w.good("b"))
	if err := a.ep.Send(ctxT(t), b.ep.Name(), &Message{Type: FrameSend, Payload: make([]byte, 200<<10)}); err != nil {
		t.Fatal(err)
	}
	if err := a.ep.Send(ctxT(t), b.ep.Name(), &Message{Type: FrameSend, Payload: []byte("small")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "both messages over TLS", func() bool { return b.rec.count("msg", "") == 2 })
	if m := b.rec.messages(); len(m[0].Payload) != 200<<10 || string(m[1].Payload) != "small" {
		t.Fatal("wrong payloads")
	}
}

func TestTLSFailures(t *testing.T) {
	w := newTLSWorld(t)
	rogueClient := w.p.tlsConfig(w.rogue, "rogue-a", []string{"127.0.0.1"}, w.now, w.later)
	rogueClient.RootCAs = w.good("x").RootCAs // trusts the real CA, presents a rogue certificate
	wrongHost := w.p.tlsConfig(w.ca, "wronghost", []string{"other.example"}, w.now, w.later)
	expired := w.p.tlsConfig(w.ca, "expired", []string{"127.0.0.1"}, w.now.Add(-48*time.Hour), w.now.Add(-24*time.Hour))
	rogueServer := w.p.tlsConfig(w.rogue, "rogue-b", []string{"127.0.0.1"}, w.now, w.later)
	rogueServer.ClientCAs = w.good("y").ClientCAs // accepts real clients, presents a rogue certificate
	cases := []struct {
		name   string
		a, b   *tls.Config
		auth   bool   // the dialer's error wraps ErrAuth
		logged string // the acceptor logs this
	}{
		{"plain dialer to TLS listener", nil, w.good("b"), false, "TLS handshake"},
		{"TLS dialer to plain listener", w.good("a"), nil, false, "before authentication"},
		{"client certificate from another CA", rogueClient, w.good("b"), true, "certificate"},
		{"server certificate from another CA", w.good("a"), rogueServer, true, ""},
		{"server certificate for another host", w.good("a"), wrongHost, true, ""},
		{"expired client certificate", expired, w.good("b"), true, "certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b, logs := tlsNodes(t, c.a, c.b)
			err := a.ep.Connect(ctxT(t), b.ep.Name())
			t.Logf("dialer: %v", err)
			mustIs(t, err, ErrNoConnection)
			if c.auth {
				mustIs(t, err, ErrAuth)
			}
			if c.logged != "" {
				waitFor(t, 5*time.Second, "the acceptor's log", func() bool { return strings.Contains(logs.String(), c.logged) })
			}
			if len(b.ep.Peers()) != 0 || b.rec.count("up", "") != 0 {
				t.Fatal("the acceptor registered the peer")
			}
		})
	}
}

func TestTLSWrongCookieStillRejected(t *testing.T) {
	w := newTLSWorld(t)
	ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
	ca.TLS, cb.TLS = w.good("a"), w.good("b")
	ca.Cookie = []byte("not the cookie b knows, at all!!")
	a, b := startNode(t, ca), startNode(t, cb)
	a.ep.SetAddr(b.ep.Name(), b.ep.Addr())
	mustIs(t, a.ep.Connect(ctxT(t), b.ep.Name()), ErrNoConnection, ErrAuth)
}

func TestTLS12Refused(t *testing.T) {
	w := newTLSWorld(t)
	_, b, _ := tlsNodes(t, nil, w.good("b"))
	client := w.good("a")
	client.MinVersion, client.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	client.ServerName = "127.0.0.1"
	conn, err := tls.Dial("tcp", b.ep.Addr(), client)
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.2 client completed a handshake")
	}
}

func TestHardenTLS(t *testing.T) {
	in := &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, ClientAuth: tls.NoClientCert}
	out := hardenTLS(in)
	if out.MinVersion != tls.VersionTLS13 || out.MaxVersion != 0 || out.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("hardened config %+v", out)
	}
	if in.MinVersion != tls.VersionTLS10 {
		t.Fatal("hardenTLS modified the caller's config")
	}
	cfg := testConfig("a@127.0.0.1")
	cfg.TLS = &tls.Config{}
	if _, err := Listen(cfg, newRecorder()); err == nil {
		t.Fatal("Listen accepted a TLS config without a certificate")
	}
}

func TestTLSFromFilesErrors(t *testing.T) {
	w := newTLSWorld(t)
	cert, key := w.p.leaf(w.ca, "n", []string{"127.0.0.1"}, w.now, w.later)
	notPEM := filepath.Join(w.p.dir, "junk")
	_ = os.WriteFile(notPEM, []byte("junk"), 0o600)
	for _, c := range [][3]string{
		{"missing", key, w.ca.file},
		{cert, "missing", w.ca.file},
		{cert, key, "missing"},
		{cert, key, notPEM},
		{cert, w.ca.file, w.ca.file}, // a certificate where the key should be
	} {
		if _, err := TLSFromFiles(c[0], c[1], c[2]); !errors.Is(err, ErrBadConfig) {
			t.Errorf("TLSFromFiles(%q, %q, %q): %v, want ErrBadConfig", c[0], c[1], c[2], err)
		}
	}
	cfg, err := TLSFromFiles(cert, key, w.ca.file)
	if err != nil || cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("TLSFromFiles: %+v, %v", cfg, err)
	}
}
