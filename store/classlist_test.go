package store_test

import (
	"strings"
	"testing"

	"pult/store"
)

func TestParseClassList(t *testing.T) {
	t.Run("EnglishComma", func(t *testing.T) {
		got := store.ParseClassList("first_name,last_name,birth_date,class,guardian_email\nAnna,Muster,2015-02-01,4a,eltern@example.org\n")
		if got.Error != "" || got.Valid != 1 || got.Invalid != 0 {
			t.Fatalf("got %+v", got)
		}
		r := got.Rows[0]
		if r.Line != 2 || r.FirstName != "Anna" || r.LastName != "Muster" || r.BirthDate != "2015-02-01" || r.Class != "4a" || r.GuardianEmail != "eltern@example.org" {
			t.Errorf("row = %+v", r)
		}
	})
	t.Run("GermanSemicolonBOM", func(t *testing.T) {
		got := store.ParseClassList("\uFEFFVorname;Nachname;Geburtsdatum;Klasse;E-Mail\r\nJürgen;Bäcker;01.02.2015;4b;\r\nÖzlem;Şahin;3.4.2014;;\r\n")
		if got.Error != "" || got.Valid != 2 {
			t.Fatalf("got %+v", got)
		}
		if got.Rows[0].BirthDate != "2015-02-01" || got.Rows[1].BirthDate != "2014-04-03" {
			t.Errorf("dates = %q, %q", got.Rows[0].BirthDate, got.Rows[1].BirthDate)
		}
		if got.Rows[1].LastName != "Şahin" {
			t.Errorf("last name = %q", got.Rows[1].LastName)
		}
	})
	t.Run("BadLines", func(t *testing.T) {
		got := store.ParseClassList("Vorname,Nachname,Geburtsdatum,E-Mail\nAnna,Muster,,\nBen,,31.02.2015,\n\nCarla,Cord,2016-01-01,not-an-address\n")
		if got.Valid != 1 || got.Invalid != 2 {
			t.Fatalf("valid %d invalid %d, want 1 and 2: %+v", got.Valid, got.Invalid, got.Rows)
		}
		ben, carla := got.Rows[1], got.Rows[2]
		if ben.Line != 3 || ben.Errors["lastName"] != store.FieldRequired || ben.Errors["birthDate"] != store.FieldInvalidDate {
			t.Errorf("Ben: %+v", ben)
		}
		if carla.Line != 5 || carla.Errors["guardianEmail"] != store.FieldInvalid {
			t.Errorf("Carla: %+v", carla)
		}
		if got, want := len(got.ValidStudents()), 1; got != want {
			t.Errorf("valid students = %d, want %d", got, want)
		}
	})
	t.Run("FileErrors", func(t *testing.T) {
		for _, tc := range []struct{ name, text, want string }{
			{"Empty", "", store.ClassListEmpty},
			{"OnlyHeader", "first_name,last_name\n", store.ClassListEmpty},
			{"NoKnownHeader", "foo,bar\n1,2\n", store.ClassListMissingHeader},
			{"MissingLastName", "Vorname,Klasse\nAnna,4a\n", store.ClassListMissingColumns},
			{"NotUTF8", "first_name,last_name\nAnn\xe9,X\n", store.ClassListUnreadable},
			{"TooMany", "first_name,last_name\n" + strings.Repeat("A,B\n", store.MaxClassListRows+1), store.ClassListTooManyRows},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := store.ParseClassList(tc.text)
				if got.Error != tc.want || len(got.Rows) != 0 {
					t.Errorf("error = %q (%d rows), want %q", got.Error, len(got.Rows), tc.want)
				}
			})
		}
	})
	t.Run("BrokenQuote", func(t *testing.T) {
		got := store.ParseClassList("first_name,last_name\nAnna,Muster\n\"Ben,Broken\nCarla,Cord\n")
		if got.Invalid == 0 {
			t.Fatalf("a broken quote was not reported: %+v", got)
		}
		if got.Rows[len(got.Rows)-1].Errors["line"] != store.FieldInvalid {
			t.Errorf("last row = %+v, want a line error", got.Rows[len(got.Rows)-1])
		}
	})
}
