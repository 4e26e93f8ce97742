package server

import (
	"bytes"
	"html/template"
	"strings"

	"pult/backend/mail"
	"pult/store"
)

// parentMailText is one kind of mail to a parent account, in one language. Lines of Body are paragraphs; a line
// "{link}" is the button (HTML) or the bare address (text).
type parentMailText struct {
	Subject string
	Body    []string
}

// Mail kinds to parent accounts.
const (
	mailConfirm    = "confirm"
	mailRegistered = "registered"
	mailReset      = "reset"
)

var parentMailTexts = map[string]map[string]parentMailText{
	store.LangGerman: {
		mailConfirm: {"Bitte bestätigen Sie Ihre Adresse – Pult", []string{
			"Guten Tag",
			"Sie haben sich bei Pult mit dieser E-Mail-Adresse registriert. Öffnen Sie den folgenden Link, um Ihre Adresse zu bestätigen. Erst danach können Sie sich anmelden.",
			"{link}",
			"Der Link gilt 24 Stunden und nur einmal. Wenn Sie sich nicht registriert haben, löschen Sie diese E-Mail einfach.",
		}},
		mailRegistered: {"Sie haben bereits ein Konto – Pult", []string{
			"Guten Tag",
			"Jemand wollte sich bei Pult mit dieser Adresse registrieren. Für diese Adresse gibt es schon ein Konto; es wurde nichts geändert.",
			"Haben Sie Ihr Passwort vergessen? Auf der Anmeldeseite können Sie es neu setzen:",
			"{link}",
			"Wenn Sie das nicht waren, löschen Sie diese E-Mail einfach.",
		}},
		mailReset: {"Passwort neu setzen – Pult", []string{
			"Guten Tag",
			"Für Ihr Pult-Konto wurde ein neues Passwort angefordert. Öffnen Sie den folgenden Link, um es zu setzen:",
			"{link}",
			"Der Link gilt eine Stunde und nur einmal. Wenn Sie nichts angefordert haben, löschen Sie diese E-Mail einfach; Ihr Passwort bleibt, wie es ist.",
		}},
	},
	store.LangEnglish: {
		mailConfirm: {"Please confirm your address – Pult", []string{
			"Hello",
			"You registered with Pult using this e-mail address. Open the following link to confirm your address; only then can you log in.",
			"{link}",
			"The link works once, for 24 hours. If you did not register, simply delete this e-mail.",
		}},
		mailRegistered: {"You already have an account – Pult", []string{
			"Hello",
			"Someone tried to register with Pult using this address. There already is an account for it; nothing was changed.",
			"Forgot your password? You can set a new one on the login page:",
			"{link}",
			"If this was not you, simply delete this e-mail.",
		}},
		mailReset: {"Set a new password – Pult", []string{
			"Hello",
			"A new password was requested for your Pult account. Open the following link to set it:",
			"{link}",
			"The link works once, for one hour. If you did not ask for it, simply delete this e-mail; your password stays as it is.",
		}},
	},
}

var parentMailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #1b1f24">
{{range .Paragraphs}}{{if .Link}}<p><a href="{{.Link}}" style="display: inline-block; padding: 0.5em 1em; background: #1d4ed8; color: #fff; text-decoration: none; border-radius: 4px">{{$.Button}}</a></p>
<p style="font-size: 0.85em; color: #555">{{.Link}}</p>
{{else}}<p>{{.Text}}</p>
{{end}}{{end}}<p style="font-size: 0.85em; color: #555">Pult</p>
</body></html>
`))

var mailButtons = map[string]map[string]string{
	store.LangGerman:  {mailConfirm: "Adresse bestätigen", mailRegistered: "Zur Anmeldung", mailReset: "Passwort neu setzen"},
	store.LangEnglish: {mailConfirm: "Confirm address", mailRegistered: "Go to login", mailReset: "Set new password"},
}

// parentMail writes a mail of a kind to an address in the account's language, as text and HTML.
func parentMail(to, lang, kind, link string) (mail.Message, error) {
	if !store.ValidLanguage(lang) {
		lang = store.LangGerman
	}
	t := parentMailTexts[lang][kind]
	type paragraph struct{ Text, Link string }
	var paras []paragraph
	var text strings.Builder
	for _, p := range t.Body {
		if p == "{link}" {
			paras = append(paras, paragraph{Link: link})
			text.WriteString(link + "\n\n")
			continue
		}
		paras = append(paras, paragraph{Text: p})
		text.WriteString(p + "\n\n")
	}
	text.WriteString("-- \nPult\n")
	var html bytes.Buffer
	err := parentMailHTML.Execute(&html, map[string]any{"Lang": lang, "Subject": t.Subject, "Paragraphs": paras, "Button": mailButtons[lang][kind]})
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{To: to, Subject: t.Subject, Text: text.String(), HTML: html.String()}, nil
}

// letterMail turns a filled letter into a mail: the school's text as it is, and as HTML paragraphs.
func letterMail(to string, l store.Letter) mail.Message {
	var html strings.Builder
	html.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"font-family: sans-serif; line-height: 1.5\">\n")
	for _, p := range strings.Split(strings.ReplaceAll(l.Body, "\r\n", "\n"), "\n\n") {
		html.WriteString("<p>" + strings.ReplaceAll(template.HTMLEscapeString(p), "\n", "<br>") + "</p>\n")
	}
	html.WriteString("</body></html>\n")
	return mail.Message{To: to, Subject: l.Subject, Text: l.Body + "\n", HTML: html.String()}
}
