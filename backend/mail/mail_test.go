package mail_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	pmail "pult/backend/mail"
	"pult/backend/mail/mailtest"
)

func configFor(s *mailtest.Server, implicit bool) pmail.Config {
	return pmail.Config{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, ImplicitTLS: implicit,
		From: "Pult <pult@schule.example>", TLS: s.ClientTLS, Timeout: 5 * time.Second}
}

// parts reads the text and HTML parts of a received mail.
func parts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p) // the multipart reader decodes quoted-printable
		kind, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[kind] = string(body)
	}
	return out
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
	}{{"STARTTLS", false}, {"ImplicitTLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := mailtest.Start(t, mailtest.Options{ImplicitTLS: tc.implicit})
			m := pmail.Message{To: "eltern@example.org", Subject: "Bestätigen Sie Ihre Adresse – Pult",
				Text: "Grüezi\nÖffnen Sie den Link.", HTML: "<p>Grüezi</p><p>Öffnen Sie den Link.</p>"}
			if err := pmail.Send(context.Background(), configFor(s, tc.implicit), m); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := s.Wait(t, 1, 5*time.Second)[0]
			if !got.TLS || got.User != s.Username || got.To != m.To || got.From != "pult@schule.example" {
				t.Errorf("received tls=%v user=%q to=%q from=%q", got.TLS, got.User, got.To, got.From)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(got.Msg.Header.Get("Subject"))
			if err != nil || subject != m.Subject {
				t.Errorf("subject %q (%v), want %q", subject, err, m.Subject)
			}
			p := parts(t, got.Msg)
			if strings.ReplaceAll(p["text/plain"], "\r\n", "\n") != m.Text || strings.ReplaceAll(p["text/html"], "\r\n", "\n") != m.HTML {
				t.Errorf("parts = %q", p)
			}
		})
	}
}

func TestSendRefusals(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{})
	m := pmail.Message{To: "eltern@example.org", Subject: "x", Text: "x", HTML: "x"}
	t.Run("WrongPassword", func(t *testing.T) {
		c := configFor(s, false)
		c.Password = "wrong"
		err := pmail.Send(context.Background(), c, m)
		if err == nil || !strings.Contains(err.Error(), "auth") {
			t.Fatalf("err = %v, want an auth failure", err)
		}
		if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), s.Password) {
			t.Errorf("the error shows a password: %v", err)
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		c := configFor(s, false)
		c.TLS = nil
		if err := pmail.Send(context.Background(), c, m); err == nil || !strings.Contains(err.Error(), "starttls") {
			t.Fatalf("err = %v, want a STARTTLS failure", err)
		}
	})
	t.Run("HeaderInjection", func(t *testing.T) {
		bad := m
		bad.Subject = "Hallo\r\nBcc: alle@example.org"
		err := pmail.Send(context.Background(), configFor(s, false), bad)
		var me *pmail.Error
		if err == nil || !errors.As(err, &me) || !me.Permanent {
			t.Fatalf("a subject with a line break: %v, want a permanent refusal", err)
		}
	})
	if n := len(s.Mails()); n != 0 {
		t.Errorf("%d mails arrived, want none", n)
	}
}

func TestParseURL(t *testing.T) {
	c, err := pmail.ParseURL("smtp://user:p%40ss@mail.example:2525", "Pult <pult@schule.example>")
	if err != nil || c.Host != "mail.example" || c.Port != "2525" || c.Username != "user" || c.Password != "p@ss" || c.ImplicitTLS {
		t.Errorf("smtp URL: %+v %v", c, err)
	}
	if strings.Contains(c.String(), "p@ss") {
		t.Errorf("String() shows the password: %s", c)
	}
	if c, err := pmail.ParseURL("smtps://mail.example", "pult@schule.example"); err != nil || c.Port != "465" || !c.ImplicitTLS {
		t.Errorf("smtps URL: %+v %v", c, err)
	}
	for _, bad := range [][2]string{{"http://user:geheim@x", "a@b.c"}, {"smtp://user:geheim@", "a@b.c"}, {"smtp://user:geheim@x", ""}, {"smtp://user:geheim@x", "no address"}} {
		_, err := pmail.ParseURL(bad[0], bad[1])
		if err == nil {
			t.Errorf("ParseURL(%q, %q) accepted", bad[0], bad[1])
		} else if strings.Contains(err.Error(), "geheim") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
