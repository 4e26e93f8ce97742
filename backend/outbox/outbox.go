// Package outbox delivers the mails the store's outbox holds: a worker sends each due mail, deletes it once sent,
// and tries a failed one again later, longer apart each time, until it gives up. With no SMTP server configured
// mails are held in the outbox for the operator to read instead.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"pult/backend/mail"
	"pult/store"
)

// Sender delivers one mail.
type Sender func(ctx context.Context, m mail.Message) error

// Postman is the one thing the server calls to send a mail.
type Postman struct {
	db   *store.DB
	send Sender
	log  *slog.Logger
	wake chan struct{}
	// Backoff is the wait after the first failure; it doubles with each further one, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxAttempts is how often a mail is tried before it is given up (kept in the outbox as failed).
	MaxAttempts int
	// Poll is how often the worker looks for due mails when nothing woke it.
	Poll time.Duration
}

// New returns a postman over db. send nil means no SMTP server: mails are held in the outbox.
func New(db *store.DB, send Sender, log *slog.Logger) *Postman {
	return &Postman{db: db, send: send, log: log, wake: make(chan struct{}, 1),
		Backoff: time.Minute, MaxBackoff: time.Hour, MaxAttempts: 8, Poll: 30 * time.Second}
}

// Sends reports whether mails are sent (an SMTP server is configured) rather than held.
func (p *Postman) Sends() bool { return p.send != nil }

// Queue puts a mail into the outbox and wakes the worker. The mail's content is sealed in the store at once, so
// it survives a restart and is never written anywhere in the clear.
func (p *Postman) Queue(ctx context.Context, schoolID string, m mail.Message) error {
	_, err := p.db.QueueMail(ctx, store.Mail{SchoolID: schoolID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML}, p.send != nil)
	if err != nil {
		return err
	}
	p.Wake()
	return nil
}

// Wake makes the worker look for due mails now.
func (p *Postman) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run sends due mails until ctx ends. It does nothing without an SMTP server.
func (p *Postman) Run(ctx context.Context) {
	if p.send == nil {
		return
	}
	t := time.NewTicker(p.Poll)
	defer t.Stop()
	for {
		p.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// deliverDue sends every mail whose time has come. Logs name the mail's id and the SMTP stage and status, never
// the recipient, the content or the server's credentials.
func (p *Postman) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		due, err := p.db.DueMails(ctx, 20)
		if err != nil {
			p.log.Error("read outbox", "err", err)
			return
		}
		if len(due) == 0 {
			return
		}
		for _, m := range due {
			p.deliver(ctx, m)
		}
	}
}

func (p *Postman) deliver(ctx context.Context, m store.Mail) {
	err := p.send(ctx, mail.Message{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	if err == nil {
		if err := p.db.MailSent(ctx, m.ID); err != nil {
			p.log.Error("mail sent, but not removed from the outbox", "mail", m.ID, "err", err)
			return
		}
		p.log.Info("mail sent", "mail", m.ID, "attempt", m.Attempts+1)
		return
	}
	var me *mail.Error
	permanent := errors.As(err, &me) && me.Permanent
	attempt := m.Attempts + 1
	var retryAt time.Time
	if !permanent && attempt < p.MaxAttempts {
		wait := p.Backoff << (attempt - 1)
		if wait > p.MaxBackoff || wait <= 0 {
			wait = p.MaxBackoff
		}
		retryAt = time.Now().Add(wait)
	}
	if err := p.db.MailFailed(ctx, m.ID, retryAt); err != nil {
		p.log.Error("record failed mail", "mail", m.ID, "err", err)
		return
	}
	if retryAt.IsZero() {
		p.log.Error("mail given up", "mail", m.ID, "attempt", attempt, "err", safeError(err))
		return
	}
	p.log.Warn("mail not sent, will retry", "mail", m.ID, "attempt", attempt, "retryAt", retryAt.UTC().Format(time.RFC3339), "err", safeError(err))
}

// safeError is an error as it may be logged: a mail.Error says only its stage and status; anything else only
// that it failed.
func safeError(err error) string {
	var me *mail.Error
	if errors.As(err, &me) {
		return me.Error()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "send failed"
}
