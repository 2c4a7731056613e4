package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/placerhq/placer/placement"
)

// writeTestPKI writes a CA and one certificate for 127.0.0.1/localhost
// (client and server use) into dir, and returns the three files.
func writeTestPKI(t *testing.T, dir string) (cert, key, ca string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := newKey(), newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "placer test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(leafKey)
	return write("node.pem", "CERTIFICATE", leafDER), write("node.key", "EC PRIVATE KEY", kb), write("ca.pem", "CERTIFICATE", caDER)
}

// TestAgentTLS: agents with --tls-* form a cluster over mutual TLS; the
// CLI reaches them with the same flags and is refused without them.
func TestAgentTLS(t *testing.T) {
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	env := newAgentEnv(t)
	cert, key, ca := writeTestPKI(t, t.TempDir())
	tlsArgs := []string{"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca}
	a1 := env.start(t, "tls1@127.0.0.1", append(tlsArgs, "--http", "off")...)
	a2 := env.start(t, "tls2@127.0.0.1", append(tlsArgs, "--http", "off", "--join", a1.Info().Gossip)...)
	agentWait(t, 10*time.Second, "two members", func() bool { return len(a1.Cluster().View().Members) == 2 })
	code, out, errText := env.cli(append([]string{"call", "counter", "x", "3"}, tlsArgs...)...)
	if code != 0 || out != "3\n" {
		t.Fatalf("call over TLS: %d %q %q", code, out, errText)
	}
	code, out, _ = env.cli(append([]string{"members", "--json"}, tlsArgs...)...)
	var ms placement.Members
	if code != 0 || json.Unmarshal([]byte(out), &ms) != nil || len(ms.Members) != 2 {
		t.Fatalf("members over TLS: %d %q", code, out)
	}
	if code, _, _ = env.cli("members", "--timeout", "2s"); code != 1 {
		t.Fatalf("plain CLI against TLS agents: exit %d", code)
	}
	if err := a2.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a1.Stop(); err != nil {
		t.Fatal(err)
	}
}
