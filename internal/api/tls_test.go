package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
)

// ca is a throwaway certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dnslb test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate (serial, for 127.0.0.1) and its key to dir
// and returns their paths.
func (c *ca) issue(t *testing.T, dir string, serial int64, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runAPI serves cfg on 127.0.0.1 until the test ends.
func runAPI(t *testing.T, cfg api.Config) *api.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s := api.New(cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api: %v", err)
		}
	})
	return s
}

// TestTLS: the API serves TLS with a certificate it reads again on
// Reload (SIGHUP), and with a client CA requires client certificates.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	authority := newCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	write(t, caFile, authority.pem)
	certFile, keyFile := authority.issue(t, dir, 100, x509.ExtKeyUsageServerAuth)
	certs, err := api.LoadCerts(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := certs.TLSConfig("")
	if err != nil {
		t.Fatal(err)
	}
	s := runAPI(t, api.Config{Registry: nil, TLS: tlsCfg, Certs: certs})
	serial := func() int64 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(authority.pem)
		conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 100 {
		t.Fatalf("serial %d", got)
	}
	cl, err := client.Open("https://"+s.Addr(), client.Options{CA: caFile})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("https://" + s.Addr() + "/healthz")
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("without the CA: %v %v", resp, err)
	}
	if _, err := client.Open("https://"+s.Addr(), client.Options{CA: filepath.Join(dir, "key.pem")}); err == nil || !strings.Contains(err.Error(), "no PEM certificate in it") {
		t.Errorf("--ca of a key file: %v", err)
	}
	_ = cl
	authority.issue(t, dir, 200, x509.ExtKeyUsageServerAuth)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != 200 {
		t.Errorf("serial after reload %d, want 200", got)
	}
	write(t, certFile, []byte("garbage"))
	if err := s.Reload(); err == nil {
		t.Error("reload of a broken certificate succeeded")
	}
	if got := serial(); got != 200 {
		t.Errorf("a failed reload changed the certificate: serial %d", got)
	}
}

// TestMutualTLS: with a client CA, a client without a certificate it
// signed cannot connect.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	authority := newCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	write(t, caFile, authority.pem)
	certs, err := api.LoadCerts(authority.issue(t, dir, 1, x509.ExtKeyUsageServerAuth))
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := certs.TLSConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	s := runAPI(t, api.Config{TLS: tlsCfg})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(authority.pem)
	get := func(certs []tls.Certificate) error {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
		resp, err := hc.Get("https://" + s.Addr() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		hc.CloseIdleConnections()
		return err
	}
	if err := get(nil); err == nil {
		t.Error("a client without a certificate got an answer")
	}
	cdir := t.TempDir()
	pair, err := tls.LoadX509KeyPair(authority.issue(t, cdir, 2, x509.ExtKeyUsageClientAuth))
	if err != nil {
		t.Fatal(err)
	}
	if err := get([]tls.Certificate{pair}); err != nil {
		t.Errorf("a client with a certificate: %v", err)
	}
}
