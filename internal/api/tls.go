package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// TLS for the API: a certificate and key read from files and read again
// on Reload (SIGHUP), so a renewed certificate is used without a restart;
// optionally, client certificates signed by a CA (mutual TLS).

// Certs is a certificate pair that can be reloaded.
type Certs struct {
	certFile, keyFile string
	pair              atomic.Pointer[tls.Certificate]
}

// LoadCerts reads the certificate and key files.
func LoadCerts(certFile, keyFile string) (*Certs, error) {
	c := &Certs{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on error the pair in use stays.
func (c *Certs) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--api-cert %s, --api-key %s: %w", c.certFile, c.keyFile, err)
	}
	c.pair.Store(&pair)
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the pair in use now.
func (c *Certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.pair.Load(), nil
}

// TLSConfig is the server's TLS configuration over c; with clientCA (a PEM
// file), clients must present a certificate it signed.
func (c *Certs) TLSConfig(clientCA string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
	if clientCA == "" {
		return cfg, nil
	}
	pool, err := LoadCAs(clientCA)
	if err != nil {
		return nil, fmt.Errorf("--api-client-ca: %w", err)
	}
	cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	return cfg, nil
}

// LoadCAs reads a PEM file of CA certificates.
func LoadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New(path + ": no PEM certificate in it")
	}
	return pool, nil
}
