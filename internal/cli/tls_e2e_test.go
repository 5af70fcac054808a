package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA writes a throwaway CA to dir/ca.pem and returns a function that
// writes a server certificate for 127.0.0.1 with the given serial to
// dir/cert.pem and dir/key.pem.
func testCA(t *testing.T, dir string) (issue func(serial int64)) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", der)
	return func(serial int64) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalPKCS8PrivateKey(k)
		writePEM(t, filepath.Join(dir, "key.pem"), "PRIVATE KEY", kder)
		writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", der)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeTLS: serve --api-cert/--api-key serves the API over TLS, the
// CLI trusts it with --ca, and SIGHUP puts a renewed certificate in use.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	issue := testCA(t, dir)
	issue(10)
	s := startServer(t, "127.0.0.1", filepath.Join(dir, "data"), "--zone", "lb.test",
		"--api-cert", filepath.Join(dir, "cert.pem"), "--api-key", filepath.Join(dir, "key.pem"))
	https := "https://" + s.api
	if out, errOut, code := runMain("--server", https, "--ca", filepath.Join(dir, "ca.pem"), "zone", "ls"); code != 0 || !strings.Contains(out, "lb.test.") {
		t.Fatalf("zone ls over TLS: exit %d, %s%s", code, out, errOut)
	}
	if _, errOut, code := runMain("--server", https, "zone", "ls"); code != 1 || !strings.Contains(errOut, "certificate signed by unknown authority") {
		t.Errorf("zone ls without --ca: exit %d, %s", code, errOut)
	}
	serial := func() int64 {
		conn, err := tls.Dial("tcp", s.api, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 10 {
		t.Fatalf("serial %d, want 10", got)
	}
	issue(11)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the renewed certificate in use", func() bool { return serial() == 11 })
	if _, errOut, code := runMain("serve", "--api-cert", "x.pem", "--data", dir); code != 2 || errOut != "dnslb: --api-cert and --api-key go together\n" {
		t.Errorf("--api-cert alone: exit %d, %q", code, errOut)
	}
}
