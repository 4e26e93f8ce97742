package cli

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"pult/backend/auth"
	"pult/backend/server"
	"pult/store"
)

// DemoSchool is the name of the fictional school `backend demo` creates.
const DemoSchool = "Musikschule Lindenhof (Demo)"

var (
	demoFirstNames = []string{"Anna", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hannes", "Ida", "Jonas", "Käthe", "Luca",
		"Mia", "Noah", "Olga", "Paul", "Quirin", "Rosa", "Samuel", "Tilda", "Umut", "Valentina", "Willi", "Xenia", "Yusuf", "Zoe"}
	demoLastNames = []string{"Albrecht", "Bäcker", "Cordes", "Demir", "Engel", "Fuchs", "Graf", "Hoffmann", "Iversen", "Jäger",
		"Krüger", "Lorenz", "Möller", "Nowak", "Özdemir", "Peters", "Quast", "Roth", "Schäfer", "Thiel", "Ulrich", "Vogt", "Wagner", "Zimmermann"}
	demoTopics = []string{"Tonleitern in G-Dur", "Rhythmusübungen im 6/8-Takt", "Vom-Blatt-Spiel", "Dynamik: piano und forte",
		"Intervalle hören", "Etüde Nr. 3", "Zusammenspiel im Duett", "Vorbereitung Vorspiel", "Improvisation über einen Blues", "Atemtechnik"}
)

// demoPassword returns a readable random password for a demo login.
func demoPassword() string {
	const letters = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

// demo fills a fictional school: an admin, 2 teachers, 3 courses, 40 students, 10 lessons per course with
// attendance. It prints the logins.
func demo(ctx context.Context, cfg Config, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.SchoolByName(ctx, DemoSchool); err == nil {
		return fmt.Errorf("the demo school %q exists already in %s", DemoSchool, cfg.DataDir)
	}
	hasher, err := auth.NewHasher(cfg.HashParams)
	if err != nil {
		return err
	}
	type login struct{ username, password, role string }
	var logins []login
	// On an empty server whoever fills the demo runs it, as the setup link's admin would: the demo admin operates
	// the server too and reads the parents' mails that wait while no SMTP server is configured.
	has, err := db.HasUsers(ctx)
	if err != nil {
		return err
	}
	adminPass := demoPassword()
	admin, err := server.CreateAdmin(ctx, db, hasher, DemoSchool, store.NewUser{Username: "demo.admin", DisplayName: "Petra Sommer", Operator: !has}, adminPass)
	if err != nil {
		return describe(err)
	}
	logins = append(logins, login{admin.Username, adminPass, "admin"})
	a := admin.Actor()
	var teachers []store.User
	for _, t := range []struct{ username, name string }{{"demo.keller", "Jakob Keller"}, {"demo.yilmaz", "Selin Yılmaz"}} {
		pass := demoPassword()
		hash, err := hasher.Hash(ctx, pass)
		if err != nil {
			return err
		}
		u, err := db.CreateUser(ctx, a, store.NewUser{Username: t.username, DisplayName: t.name, Role: store.RoleTeacher, PasswordHash: hash})
		if err != nil {
			return describe(err)
		}
		teachers = append(teachers, u)
		logins = append(logins, login{u.Username, pass, "teacher"})
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	var students []store.Student
	for i := 0; i < 40; i++ {
		st := store.Student{
			FirstName: demoFirstNames[rng.IntN(len(demoFirstNames))], LastName: demoLastNames[rng.IntN(len(demoLastNames))],
			BirthDate: fmt.Sprintf("%d-%02d-%02d", 2010+rng.IntN(8), 1+rng.IntN(12), 1+rng.IntN(28)), Class: fmt.Sprintf("%d%c", 3+rng.IntN(7), 'a'+rune(rng.IntN(3))),
		}
		students = append(students, st)
	}
	if _, err := db.ImportStudents(ctx, a, students, ""); err != nil {
		return describe(err)
	}
	all, err := db.Students(ctx, a)
	if err != nil {
		return err
	}
	courses := []store.Course{
		{Name: "Klavier Gruppe A", Subject: "Klavier", TeacherID: teachers[0].ID},
		{Name: "Gitarre Anfänger", Subject: "Gitarre", TeacherID: teachers[0].ID},
		{Name: "Jugendorchester", Subject: "Ensemble", TeacherID: teachers[1].ID},
	}
	statuses := []store.AttendanceStatus{store.Present, store.Present, store.Present, store.Present, store.Present, store.Present, store.Late, store.Excused, store.Unexcused}
	today := time.Now()
	for ci, c := range courses {
		cs, err := db.CreateCourse(ctx, a, c)
		if err != nil {
			return describe(err)
		}
		// The orchestra takes everyone; the small groups a dozen each.
		members := all
		if ci < 2 {
			members = all[ci*12 : ci*12+12]
		}
		for _, st := range members {
			if err := db.Enroll(ctx, a, cs.ID, st.ID); err != nil {
				return err
			}
		}
		for week := 10; week >= 1; week-- {
			day := today.AddDate(0, 0, -7*week+ci)
			l, err := db.CreateLesson(ctx, a, cs.ID, store.Lesson{Date: day.Format(time.DateOnly), StartTime: fmt.Sprintf("%02d:00", 14+ci),
				EndTime: fmt.Sprintf("%02d:45", 14+ci), Topic: demoTopics[(week+ci)%len(demoTopics)], Homework: "Stück bis Takt 16 üben",
				Note: "Intern: Fingersatz noch unsicher", ParentNote: "Bitte Noten und Bleistift mitbringen"})
			if err != nil {
				return describe(err)
			}
			for _, st := range members {
				m := store.AttendanceMark{Status: statuses[rng.IntN(len(statuses))]}
				if m.Status == store.Late {
					m.LateMinutes = 5 + rng.IntN(15)
				}
				if _, err := db.MarkAttendance(ctx, a, l.ID, st.ID, m); err != nil {
					return describe(err)
				}
			}
		}
	}
	// A letter for the parents and one access code, so that the parents' side can be tried at once.
	if _, err := db.SaveLetterTemplate(ctx, a, store.LetterTemplate{Name: "Zugangsbrief", Subject: "Zugang zu Pult für {{name}}",
		Body: "Liebe Eltern von {{firstName}}\n\nIn Pult sehen Sie die Stunden, Hausaufgaben und die Anwesenheit im Kurs {{course}}.\n\n" +
			"1. Registrieren Sie sich: {{link}}\n2. Geben Sie unter «Einstellungen → Kennungen verwalten» diesen Code ein:\n\n    {{code}}\n\n" +
			"Freundliche Grüsse\n{{school}}, {{date}}"}); err != nil {
		return describe(err)
	}
	code, err := db.IssueAccessCode(ctx, a, all[0].ID)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "Demo school %q created in %s: 2 teachers, %d courses, %d students, 10 lessons per course.\n\nLogins:\n", DemoSchool, cfg.DataDir, len(courses), len(students))
	for _, l := range logins {
		fmt.Fprintf(stdout, "  %-8s %-14s %s\n", l.role, l.username, l.password)
	}
	fmt.Fprintf(stdout, "\nA parent who registers at http://%s/#/parent/register can add %s %s with the access code %s.\n",
		cfg.Addr, all[0].FirstName, all[0].LastName, code.Code)
	if admin.Operator {
		fmt.Fprintln(stdout, "Without an SMTP server, its confirmation mail waits in the server's outbox: log in as demo.admin, page Betrieb.")
	}
	fmt.Fprintln(stdout, "\nStart the server with `go tool task run` and log in at http://"+cfg.Addr)
	return nil
}
