package outbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pult/backend/mail"
	"pult/backend/mail/mailtest"
	"pult/backend/outbox"
	"pult/store"
)

func mustStore(t *testing.T) *store.DB {
	t.Helper()
	key, _ := store.NewKey()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "pult.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestDeliveryRetries: a mail the server refuses for now is sent again after a pause, then removed from the
// outbox; the log names neither the recipient nor the SMTP password.
func TestDeliveryRetries(t *testing.T) {
	db := mustStore(t)
	s := mailtest.Start(t, mailtest.Options{})
	cfg := mail.Config{Host: s.Host, Port: s.Port, Username: s.Username, Password: s.Password, From: "pult@schule.example", TLS: s.ClientTLS, Timeout: 5 * time.Second}
	var logs bytes.Buffer
	p := outbox.New(db, func(ctx context.Context, m mail.Message) error { return mail.Send(ctx, cfg, m) }, slog.New(slog.NewTextHandler(&logs, nil)))
	p.Backoff, p.Poll = 50*time.Millisecond, 20*time.Millisecond
	s.FailNext(mailtest.TempFailure, mailtest.TempFailure)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	if err := p.Queue(ctx, "", mail.Message{To: "mutter@example.org", Subject: "Hallo", Text: "Text", HTML: "<p>Text</p>"}); err != nil {
		t.Fatal(err)
	}
	got := s.Wait(t, 1, 10*time.Second)
	if got[0].To != "mutter@example.org" {
		t.Errorf("to = %q", got[0].To)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, err := db.ServerOutbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sent mail is still in the outbox: %+v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	out := logs.String()
	if strings.Count(out, "will retry") != 2 || !strings.Contains(out, "status 451") || !strings.Contains(out, "mail sent") {
		t.Errorf("log does not tell two retries and the delivery:\n%s", out)
	}
	for _, secret := range []string{"mutter@example.org", s.Password, "Hallo"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q:\n%s", secret, out)
		}
	}
}

// TestGiveUp: a permanent refusal is not tried again; the mail stays in the outbox as failed.
func TestGiveUp(t *testing.T) {
	db := mustStore(t)
	calls := 0
	p := outbox.New(db, func(ctx context.Context, m mail.Message) error {
		calls++
		return &mail.Error{Stage: "rcpt", Code: 550, Permanent: true}
	}, slog.New(slog.DiscardHandler))
	p.Poll = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.Queue(ctx, "", mail.Message{To: "x@example.org", Subject: "s", Text: "t", HTML: "h"}); err != nil {
		t.Fatal(err)
	}
	p.Run(ctx)
	left, _ := db.ServerOutbox(context.Background())
	if calls != 1 || len(left) != 1 || left[0].State != store.MailFailed {
		t.Errorf("calls %d, outbox %+v; want one call and the mail kept as failed", calls, left)
	}
}

// TestHeldWithoutSMTP: with no SMTP server the mail waits in the outbox, readable there and sealed in the file.
func TestHeldWithoutSMTP(t *testing.T) {
	db := mustStore(t)
	p := outbox.New(db, nil, slog.New(slog.DiscardHandler))
	if p.Sends() {
		t.Fatal("a postman without SMTP says it sends")
	}
	if err := p.Queue(context.Background(), "", mail.Message{To: "vater@example.org", Subject: "Link", Text: "https://x/#/t", HTML: "<a>x</a>"}); err != nil {
		t.Fatal(err)
	}
	left, err := db.ServerOutbox(context.Background())
	if err != nil || len(left) != 1 || left[0].State != store.MailHeld || left[0].To != "vater@example.org" {
		t.Fatalf("outbox %+v %v", left, err)
	}
}
