package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// smtpSink is a mail relay on 127.0.0.1 that records every message it
// accepts. It offers STARTTLS with a self-signed certificate for 127.0.0.1,
// written to caFile: Alertmanager requires TLS by default (smtp_require_tls)
// and verifies the server against the system roots, which a process started
// with SSL_CERT_FILE=caFile takes from that file. The shipped alertmanager.yml
// thus runs unchanged, with neither tls_config nor smtp_require_tls: false.
type smtpSink struct {
	addr   string // host:port
	caFile string

	mu   sync.Mutex
	msgs []sentMail
}

// sentMail is one message as the relay received it.
type sentMail struct {
	From    string
	To      []string // envelope recipients
	TLS     bool     // the message was sent after STARTTLS
	Header  mail.Header
	Subject string // decoded
	// Text and HTML are the decoded bodies of the multipart/alternative parts.
	Text, HTML string
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	cert, pemBytes := selfSignedCert(t, "smm-e2e smtp sink", []string{"localhost"}, net.ParseIP("127.0.0.1"))
	s := &smtpSink{caFile: filepath.Join(t.TempDir(), "smtp-ca.pem")}
	require.NoError(t, os.WriteFile(s.caFile, pemBytes, 0o600))

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{sink: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 4 << 20
	srv.ErrorLog = log.New(os.Stderr, "smtp sink: ", log.LstdFlags)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// messages returns the messages received so far.
func (s *smtpSink) messages() []sentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentMail(nil), s.msgs...)
}

// to returns the messages addressed to rcpt whose subject contains subject.
func (s *smtpSink) to(rcpt, subject string) []sentMail {
	var out []sentMail
	for _, m := range s.messages() {
		for _, r := range m.To {
			if strings.EqualFold(r, rcpt) && strings.Contains(m.Subject, subject) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

type smtpSession struct {
	sink *smtpSink
	conn *smtp.Conn
	from string
	to   []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parseMail(raw)
	if err != nil {
		return err // the client sees a 5xx and the test a delivery failure
	}
	_, m.TLS = s.conn.TLSConnectionState()
	m.From, m.To = s.from, append([]string(nil), s.to...)
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, m)
	s.sink.mu.Unlock()
	return nil
}

// parseMail decodes the headers and the text and HTML parts of a
// multipart/alternative message (quoted-printable is undone by the
// multipart reader).
func parseMail(raw []byte) (sentMail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return sentMail{}, err
	}
	m := sentMail{Header: msg.Header}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return sentMail{}, err
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return sentMail{}, err
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return sentMail{}, errors.New("not a multipart message: " + mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return sentMail{}, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return sentMail{}, err
		}
		// SMTP carries CRLF line ends; the templates write LF.
		body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
}

// selfSignedCert makes a server certificate for the given names and
// addresses that is its own CA, and its PEM for the clients' pool.
func selfSignedCert(t *testing.T, commonName string, dnsNames []string, ips ...net.IP) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           ips,
		DNSNames:              dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	require.NoError(t, err)
	return cert, certPEM
}
