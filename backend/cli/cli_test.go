package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pult/backend/cli"
	"pult/store"
)

// run runs the backend's command line against a data folder and returns its exit code and output.
func run(t *testing.T, dataDir, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"PULT_DATA": dataDir}
	code := cli.Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String() + errOut.String()
}

func openData(t *testing.T, dir string) *store.DB {
	t.Helper()
	key, err := store.LoadOrCreateKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "pult.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAdminCreateImportRecover(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if code, out := run(t, dir, "kurz\n", "admin", "create", "--school", "Schule Nord", "--username", "v.name"); code == 0 {
		t.Fatalf("a too short password was accepted: %s", out)
	}
	if code, out := run(t, dir, "ein langes Passwort\n", "admin", "create", "--school", "Schule Nord", "--username", "V.Name", "--name", "Vera Name"); code != 0 {
		t.Fatalf("admin create: %d %s", code, out)
	}
	csv := filepath.Join(dir, "klasse.csv")
	if err := os.WriteFile(csv, []byte("Vorname;Nachname\nAnna;Albers\nBen;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, dir, "", "import", "students", "--school", "schule nord", "--file", csv)
	if code == 0 || !strings.Contains(out, "line 3: lastName: required") {
		t.Fatalf("import with a bad line: %d %s", code, out)
	}
	db := openData(t, dir)
	school, err := db.SchoolByName(ctx, "Schule Nord")
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := db.Students(ctx, store.SchoolAdmin(school.ID)); len(list) != 0 {
		t.Fatalf("a refused import stored %d students", len(list))
	}
	if code, out := run(t, dir, "", "import", "students", "--school", "Schule Nord", "--file", csv, "--skip-invalid"); code != 0 || !strings.Contains(out, "Imported 1 students (1 skipped") {
		t.Fatalf("import skipping the bad line: %d %s", code, out)
	}

	t.Run("Recover", func(t *testing.T) {
		u, err := db.UserByUsername(ctx, "v.name")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.EndLearningMode(ctx, u.Actor(), u.ID); err != nil {
			t.Fatal(err)
		}
		if code, out := run(t, dir, "", "recover", "--school", "Schule Nord", "--username", "v.name"); code != 0 || !strings.Contains(out, "one new device") {
			t.Fatalf("recover: %d %s", code, out)
		}
		lm, err := db.UserLearningMode(ctx, u.Actor(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !lm.Active(db.Now()) || lm.DevicesLeft == nil || *lm.DevicesLeft != 1 || lm.Until.Sub(db.Now()) > time.Hour+time.Second {
			t.Errorf("learning mode after recover = %+v, want one device for an hour", lm)
		}
		log, err := db.AuditLog(ctx, store.SchoolAdmin(school.ID), store.AuditFilter{Action: "recovered_on_server"})
		if err != nil || len(log) != 1 || log[0].UserID != u.ID {
			t.Errorf("audit log after recover = %+v, %v", log, err)
		}
		if code, _ := run(t, dir, "", "recover", "--school", "Andere", "--username", "v.name"); code == 0 {
			t.Error("recover in a school the user is not in succeeded")
		}
	})
	t.Run("Usage", func(t *testing.T) {
		if code, out := run(t, dir, "", "frobnicate"); code != 2 || !strings.Contains(out, "Usage:") {
			t.Errorf("unknown command: %d %s", code, out)
		}
	})
}

// TestOutbox: without SMTP the operator reads the mails on the command line, which is how a newcomer running Pult
// on one machine gets a parent's confirmation link.
func TestOutbox(t *testing.T) {
	dir := t.TempDir()
	if code, out := run(t, dir, "", "outbox"); code != 0 || !strings.Contains(out, "The outbox is empty.") {
		t.Fatalf("empty outbox: %d %s", code, out)
	}
	db := openData(t, dir)
	if _, err := db.QueueMail(context.Background(), store.Mail{To: "eltern@example.org", Subject: "Bitte bestätigen Sie Ihre Adresse – Pult",
		Text: "http://127.0.0.1:8080/#/parent/confirm/abc", HTML: "<p>x</p>"}, false); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, dir, "", "outbox")
	for _, want := range []string{"To: eltern@example.org", "Subject: Bitte bestätigen Sie Ihre Adresse – Pult", "#/parent/confirm/abc", "(held)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("outbox: %d, output lacks %q:\n%s", code, want, out)
		}
	}
}

// TestOperator: the command line makes a staff account an operator of the server and takes it back; the audit log
// of the account's school records both.
func TestOperator(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if code, out := run(t, dir, "ein langes Passwort\n", "admin", "create", "--school", "Schule Nord", "--username", "v.name"); code != 0 {
		t.Fatalf("admin create: %d %s", code, out)
	}
	if code, out := run(t, dir, "", "operator", "grant", "--username", "niemand"); code != 1 || !strings.Contains(out, `no user "niemand"`) {
		t.Errorf("grant to an unknown user: %d %s", code, out)
	}
	if code, out := run(t, dir, "", "operator", "promote", "--username", "v.name"); code != 2 {
		t.Errorf("an unknown operator command: %d %s", code, out)
	}
	db := openData(t, dir)
	isOperator := func() bool {
		u, err := db.UserByUsername(ctx, "v.name")
		if err != nil {
			t.Fatal(err)
		}
		return u.Operator
	}
	if isOperator() {
		t.Fatal("an admin made on the command line is an operator without being granted")
	}
	if code, out := run(t, dir, "", "operator", "grant", "--username", "V.Name"); code != 0 || !isOperator() {
		t.Fatalf("grant: %d %s", code, out)
	}
	if code, out := run(t, dir, "", "operator", "revoke", "--username", "v.name"); code != 0 || isOperator() {
		t.Fatalf("revoke: %d %s", code, out)
	}
	u, _ := db.UserByUsername(ctx, "v.name")
	log, err := db.AuditLog(ctx, store.SchoolAdmin(u.SchoolID), store.AuditFilter{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		if strings.HasPrefix(e.Action, "operator_") {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "operator_revoked,operator_granted" {
		t.Errorf("audit log: %v, want the revoke after the grant", actions)
	}
}

// TestSMTPConfig: a bad PULT_SMTP_URL stops the start with a message that does not repeat the password.
func TestSMTPConfig(t *testing.T) {
	for _, tc := range []struct{ url, from string }{{"ftp://u:geheim@mail.example", "pult@schule.example"}, {"smtp://u:geheim@mail.example", ""}} {
		_, err := cli.ConfigFrom(func(k string) string {
			return map[string]string{"PULT_SMTP_URL": tc.url, "PULT_MAIL_FROM": tc.from}[k]
		})
		if err == nil || strings.Contains(err.Error(), "geheim") {
			t.Errorf("%s from %q: %v", tc.url, tc.from, err)
		}
	}
	c, err := cli.ConfigFrom(func(k string) string {
		return map[string]string{"PULT_SMTP_URL": "smtps://u:geheim@mail.example", "PULT_MAIL_FROM": "Pult <pult@schule.example>"}[k]
	})
	if err != nil || c.SMTP == nil || !c.SMTP.ImplicitTLS || c.SMTP.Port != "465" {
		t.Errorf("smtps config: %+v %v", c.SMTP, err)
	}
}

// TestDemo: the demo fills a school with logins that work; on an empty server its admin also operates it (and
// reads the parents' mails under Betrieb), on one that someone set up already it does not; it runs once.
func TestDemo(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		setup    bool
		operator bool
	}{{"EmptyServer", false, true}, {"ServerInUse", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup {
				if code, out := run(t, dir, "ein langes Passwort\n", "admin", "create", "--school", "Schule Nord", "--username", "v.name"); code != 0 {
					t.Fatalf("admin create: %d %s", code, out)
				}
			}
			code, out := run(t, dir, "", "demo")
			if code != 0 || !strings.Contains(out, "demo.admin") || !strings.Contains(out, "demo.keller") {
				t.Fatalf("demo: %d %s", code, out)
			}
			if strings.Contains(out, "page Betrieb") != tc.operator {
				t.Errorf("the output speaks of Betrieb: %v, want %v:\n%s", !tc.operator, tc.operator, out)
			}
			db := openData(t, dir)
			admin, err := db.UserByUsername(ctx, "demo.admin")
			if err != nil {
				t.Fatal(err)
			}
			if admin.Operator != tc.operator {
				t.Errorf("demo.admin operates the server: %v, want %v", admin.Operator, tc.operator)
			}
			courses, err := db.Courses(ctx, admin.Actor())
			if err != nil || len(courses) != 3 {
				t.Errorf("the demo school has %d courses (%v), want 3", len(courses), err)
			}
			if code, out := run(t, dir, "", "demo"); code == 0 || !strings.Contains(out, "exists already") {
				t.Errorf("a second demo: %d %s", code, out)
			}
		})
	}
}
