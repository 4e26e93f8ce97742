// Package cli wires the backend together: configuration from the environment, the store, and the subcommands.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pult/backend/auth"
	"pult/backend/mail"
	"pult/backend/server"
	"pult/store"
)

// Version is the backend's version, set at build time.
var Version = "dev"

const usage = `Pult backend

Usage:
  backend [serve]                                         serve the API and the web UI
  backend admin create --school NAME --username USER [--name NAME]
                                                          create an admin (password on stdin); creates the school if needed
  backend import students --school NAME --file FILE.csv [--course NAME] [--skip-invalid]
                                                          import a class list
  backend recover --school NAME --username USER          reopen learning mode for that user for one device and
                                                          one hour (a locked-out admin's way back in)
  backend operator grant|revoke --username USER           make a staff account one of the server's operators, who
                                                          read its outbox in the UI (Betrieb), or no longer
  backend demo                                            fill a fictional demo school and print its logins
  backend outbox                                          print the mails in the outbox (held without SMTP, or failed)

Environment:
  PULT_ADDR        listen address (default 127.0.0.1:8080)
  PULT_DATA        data folder (default ./data)
  PULT_MASTER_KEY  master key as 64 hex digits (default: the file PULT_DATA/master.key, created on first start)
  PULT_TLS_CERT, PULT_TLS_KEY   serve TLS from these certificate and key files
  PULT_AUTOCERT    serve TLS with certificates from ACME for these comma-separated host names
  PULT_PUBLIC_URL  the address users open, for printed links (default http://PULT_ADDR)
  PULT_ALLOW_PLAIN_HTTP=1       allow plain HTTP on a non-loopback address (behind a TLS proxy)
  PULT_TRUSTED_PROXIES          comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed
  PULT_SMTP_URL    smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS);
                   without it mails stay in the outbox: operators read it in the UI, or run backend outbox
  PULT_MAIL_FROM   the sender of Pult's mails, such as "Pult <pult@schule.example>"
  PULT_LOG_LEVEL   debug, info (default), warn or error
`

// Config is the backend's configuration.
type Config struct {
	Addr        string
	DataDir     string
	MasterKey   string
	TLSCert     string
	TLSKey      string
	Autocert    []string
	PublicURL   string
	AllowPlain  bool
	Proxies     []netip.Prefix
	LogLevel    slog.Level
	HashParams  auth.Params
	DatabaseOpt string
	// SMTP is where mails go; nil keeps them in the outbox.
	SMTP *mail.Config
}

// ConfigFrom reads the configuration from environment variables.
func ConfigFrom(getenv func(string) string) (Config, error) {
	c := Config{Addr: "127.0.0.1:8080", DataDir: "./data", HashParams: auth.OWASP}
	if v := getenv("PULT_ADDR"); v != "" {
		c.Addr = v
	}
	if v := getenv("PULT_DATA"); v != "" {
		c.DataDir = v
	}
	c.MasterKey = getenv("PULT_MASTER_KEY")
	c.TLSCert, c.TLSKey = getenv("PULT_TLS_CERT"), getenv("PULT_TLS_KEY")
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return Config{}, errors.New("set both PULT_TLS_CERT and PULT_TLS_KEY, or neither")
	}
	if v := getenv("PULT_AUTOCERT"); v != "" {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.Autocert = append(c.Autocert, h)
			}
		}
	}
	c.PublicURL = strings.TrimRight(getenv("PULT_PUBLIC_URL"), "/")
	c.AllowPlain = getenv("PULT_ALLOW_PLAIN_HTTP") == "1"
	for _, s := range strings.Split(getenv("PULT_TRUSTED_PROXIES"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Config{}, fmt.Errorf("PULT_TRUSTED_PROXIES: %w", err)
		}
		c.Proxies = append(c.Proxies, p.Masked())
	}
	if v := getenv("PULT_SMTP_URL"); v != "" {
		smtp, err := mail.ParseURL(v, getenv("PULT_MAIL_FROM"))
		if err != nil {
			return Config{}, err
		}
		c.SMTP = &smtp
	}
	if v := getenv("PULT_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return Config{}, fmt.Errorf("PULT_LOG_LEVEL: %w", err)
		}
	}
	return c, nil
}

// TLS reports whether the server speaks TLS itself.
func (c Config) TLS() bool { return c.TLSCert != "" || len(c.Autocert) > 0 }

// openStore opens the store in the data folder, creating the folder and master key on first use.
func openStore(ctx context.Context, c Config) (*store.DB, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	var key store.Key
	var err error
	if c.MasterKey != "" {
		key, err = store.ParseKey(c.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("PULT_MASTER_KEY: %w", err)
		}
	} else if key, err = store.LoadOrCreateKeyFile(filepath.Join(c.DataDir, "master.key")); err != nil {
		return nil, err
	}
	return store.Open(ctx, filepath.Join(c.DataDir, "pult.db"), key)
}

// openSchool opens the store and finds a school by name; the caller closes the store.
func openSchool(ctx context.Context, cfg Config, name string) (*store.DB, store.School, error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, store.School{}, err
	}
	school, err := db.SchoolByName(ctx, name)
	if err != nil {
		db.Close()
		return nil, store.School{}, fmt.Errorf("school %q: %w", name, err)
	}
	return db, school, nil
}

// Main runs the backend with command-line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := ConfigFrom(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log, stdout)
	case "admin":
		if len(args) == 0 || args[0] != "create" {
			err = usageError("admin create")
			break
		}
		err = adminCreate(ctx, cfg, args[1:], stdin, stdout)
	case "import":
		if len(args) == 0 || args[0] != "students" {
			err = usageError("import students")
			break
		}
		err = importStudents(ctx, cfg, args[1:], stdout)
	case "recover":
		err = recoverUser(ctx, cfg, args, stdout)
	case "operator":
		err = setOperator(ctx, cfg, args, stdout)
	case "demo":
		err = demo(ctx, cfg, stdout)
	case "outbox":
		err = printOutbox(ctx, cfg, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError(cmd)
	}
	var ue usageErr
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
}

type usageErr string

func (e usageErr) Error() string { return string(e) }

func usageError(what string) error { return usageErr("unknown or incomplete command: " + what) }

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func adminCreate(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlags("admin create")
	school := fs.String("school", "", "school name")
	username := fs.String("username", "", "username")
	name := fs.String("name", "", "display name (default: the username)")
	if err := fs.Parse(args); err != nil || *school == "" || *username == "" {
		return usageErr("admin create needs --school and --username")
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")
	if *name == "" {
		*name = *username
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	hasher, err := auth.NewHasher(cfg.HashParams)
	if err != nil {
		return err
	}
	u, err := server.CreateAdmin(ctx, db, hasher, *school, store.NewUser{Username: *username, DisplayName: *name}, password)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "Created admin %s of %s.\n", u.Username, *school)
	return nil
}

// describe turns a validation error into a sentence for the command line.
func describe(err error) error {
	var e *store.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		var parts []string
		for f, code := range e.Fields {
			parts = append(parts, f+": "+code)
		}
		return fmt.Errorf("%s (%s)", e.Message, strings.Join(parts, ", "))
	}
	return err
}

func importStudents(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("import students")
	schoolName := fs.String("school", "", "school name")
	file := fs.String("file", "", "CSV file")
	courseName := fs.String("course", "", "enrol the students in this course")
	skip := fs.Bool("skip-invalid", false, "import the good lines and skip the bad ones")
	if err := fs.Parse(args); err != nil || *schoolName == "" || *file == "" {
		return usageErr("import students needs --school and --file")
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read class list: %w", err)
	}
	list := store.ParseClassList(string(raw))
	if list.Error != "" {
		return fmt.Errorf("class list %s: %s", *file, list.Error)
	}
	if list.Invalid > 0 {
		for _, r := range list.Rows {
			for f, code := range r.Errors {
				fmt.Fprintf(stdout, "line %d: %s: %s\n", r.Line, f, code)
			}
		}
		if !*skip {
			return fmt.Errorf("%d bad lines; nothing imported (fix them, or pass --skip-invalid)", list.Invalid)
		}
	}
	db, school, err := openSchool(ctx, cfg, *schoolName)
	if err != nil {
		return err
	}
	defer db.Close()
	a := store.SchoolAdmin(school.ID)
	courseID := ""
	if *courseName != "" {
		c, err := db.CourseByName(ctx, a, *courseName)
		if err != nil {
			return fmt.Errorf("course %q: %w", *courseName, err)
		}
		courseID = c.ID
	}
	students := list.ValidStudents()
	enrolled, err := db.ImportStudents(ctx, a, students, courseID)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "Imported %d students (%d skipped, %d enrolled).\n", len(students), list.Invalid, enrolled)
	return nil
}

// recoverUser is the break-glass for a user who can log in from no trusted device: on the server's command line,
// learning mode reopens for one device and one hour.
func recoverUser(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("recover")
	schoolName := fs.String("school", "", "school name")
	username := fs.String("username", "", "username")
	if err := fs.Parse(args); err != nil || *schoolName == "" || *username == "" {
		return usageErr("recover needs --school and --username")
	}
	db, school, err := openSchool(ctx, cfg, *schoolName)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByUsername(ctx, *username)
	if err != nil || u.SchoolID != school.ID {
		return fmt.Errorf("no user %q in school %q", *username, *schoolName)
	}
	until := db.Now().Add(time.Hour)
	if err := db.EnableLearningMode(ctx, store.SchoolAdmin(school.ID), []string{u.ID}, until, 1); err != nil {
		return describe(err)
	}
	if err := db.Unlock(ctx, store.SchoolAdmin(school.ID), u.ID); err != nil {
		return describe(err)
	}
	if err := db.Audit(ctx, store.AuditEntry{SchoolID: school.ID, UserID: u.ID, Action: "recovered_on_server", Outcome: store.OutcomeDone,
		Reason: "learning mode for one device and one hour"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Learning mode for %s is open for one new device until %s. Log in from that device now.\n",
		u.Username, until.Local().Format("15:04"))
	return nil
}

// setOperator grants or revokes the operator role: whoever has the server's command line runs the server anyway.
func setOperator(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "grant" && args[0] != "revoke") {
		return usageError("operator grant|revoke")
	}
	fs := newFlags("operator")
	username := fs.String("username", "", "username")
	if err := fs.Parse(args[1:]); err != nil || *username == "" {
		return usageErr("operator " + args[0] + " needs --username")
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.SetOperator(ctx, *username, args[0] == "grant")
	if store.ErrorCode(err) == store.CodeNotFound {
		return fmt.Errorf("no user %q", *username)
	}
	if err != nil {
		return err
	}
	if u.Operator {
		fmt.Fprintf(stdout, "%s is an operator of this server: the page Betrieb shows the server's outbox.\n", u.Username)
	} else {
		fmt.Fprintf(stdout, "%s is no longer an operator of this server.\n", u.Username)
	}
	return nil
}

// printOutbox shows the operator every mail in the outbox: with no SMTP server configured this is how a
// confirmation or reset link reaches whoever runs Pult.
func printOutbox(ctx context.Context, cfg Config, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	mails, err := db.ServerOutbox(ctx)
	if err != nil {
		return err
	}
	if len(mails) == 0 {
		fmt.Fprintln(stdout, "The outbox is empty.")
		return nil
	}
	for _, m := range mails {
		fmt.Fprintf(stdout, "--- %s  %s  (%s)\nTo: %s\nSubject: %s\n\n%s\n\n", m.CreatedAt.Local().Format("2006-01-02 15:04"), m.ID, m.State, m.To, m.Subject, m.Text)
	}
	return nil
}
