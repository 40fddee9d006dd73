package web

import (
	"html/template"
	"net/http"
	"strings"
)

// messagePage is a page of one sentence, for links that cannot be used
// (expired, already used, unknown): no script, nothing but text.
var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title><link rel="stylesheet" href="{{.CSS}}"></head>
<body data-screen="message"><main class="message"><h1>{{.Title}}</h1><p>{{.Text}}</p></main></body></html>
`))

// WriteMessage answers a browser with a one-sentence page: what a person
// opening a dead link sees (the JSON APIs answer in their own shapes).
// assetPath is where the verification page's assets are mounted.
func WriteMessage(w http.ResponseWriter, status int, title, text, assetPath string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	css := strings.TrimSuffix(assetPath, "/") + "/verify.css"
	_ = messagePage.Execute(w, struct{ Title, Text, CSS string }{title, text, css})
}

// LinkMessage is the title and sentence of a dead link by its status.
func LinkMessage(status int) (title, text string) {
	switch status {
	case http.StatusGone:
		return "This link has expired", "Ask for a new verification link and try again."
	case http.StatusConflict:
		return "This verification is complete", "This link has already been used. You can close this page."
	case http.StatusNotFound:
		return "This link is not valid", "Check that you opened the whole link, or ask for a new one."
	}
	return "Something went wrong", "Please try again in a moment."
}
