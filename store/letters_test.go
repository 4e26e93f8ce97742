package store_test

import (
	"strings"
	"testing"

	"pult/store"
)

// TestLetterTemplateValidate: every known placeholder is accepted, spaces inside the braces too; an unknown one or
// stray braces are refused with the field and the placeholder named.
func TestLetterTemplateValidate(t *testing.T) {
	all := "{{" + strings.Join(store.Placeholders, "}} {{") + "}} {{ name }}"
	if err := (&store.LetterTemplate{Name: "Brief", Subject: "Zugang für {{name}}", Body: all}).Validate(); err != nil {
		t.Errorf("known placeholders refused: %v", err)
	}
	for _, tc := range []struct {
		name, subject, body, field, named string
	}{
		{"UnknownInBody", "Zugang", "Code {{code}} für {{vorname}}", "body", "{{vorname}}"},
		{"UnknownInSubject", "Hallo {{Name}}", "{{code}}", "subject", "{{Name}}"},
		{"StrayOpen", "Zugang", "Code {{code}} {{name", "body", "{{…"},
		{"StrayClose", "Zugang", "Code }} {{code}}", "body", "{{…"},
		{"Empty", "Zugang", "{{}}", "body", "{{}}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&store.LetterTemplate{Name: "Brief", Subject: tc.subject, Body: tc.body}).Validate()
			var e *store.Error
			if err == nil || !asError(err, &e) || e.Code != store.CodeInvalid || e.Fields[tc.field] != store.FieldUnknownPlaceholder ||
				!strings.Contains(e.Message, tc.named) || !strings.Contains(e.Message, "{{code}}") {
				t.Errorf("got %v, want %s refused naming %s and the known ones", err, tc.field, tc.named)
			}
		})
	}
}

func TestFillTemplate(t *testing.T) {
	got := store.FillTemplate("Liebe Eltern von {{firstName}}, Code: {{ code }}", map[string]string{"firstName": "Mia", "code": "ABCD-EFGH-JKMN-PQRS"})
	if want := "Liebe Eltern von Mia, Code: ABCD-EFGH-JKMN-PQRS"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
