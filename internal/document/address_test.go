package document

import (
	"context"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

var now = time.Date(2024, 3, 10, 15, 0, 0, 0, time.UTC)

func TestFindDatesFormats(t *testing.T) {
	cases := map[string]string{
		"Issued 2024-01-15.":                "2024-01-15",
		"Date: 15/01/2024":                  "2024-01-15",
		"Datum 15.01.2024":                  "2024-01-15",
		"due 01/15/2024":                    "2024-01-15",
		"15 Jan 2024":                       "2024-01-15",
		"15th of January 2024":              "2024-01-15",
		"January 15, 2024":                  "2024-01-15",
		"Jan. 15th, 2024":                   "2024-01-15",
		"le 15 février 2024":                "2024-02-15",
		"am 3. März 2024":                   "2024-03-03",
		"15 de enero de 2024":               "2024-01-15",
		"Statement date 2O24-O1-l5":         "2024-01-15", // OCR letters for digits
		"15.01.24":                          "2024-01-15",
		"Period 01 Dec 2023 to 31 Dec 2023": "2023-12-01,2023-12-31",
	}
	for text, want := range cases {
		var got []string
		for _, d := range FindDates(text, now) {
			got = append(got, d.Time.Format("2006-01-02"))
		}
		if join(got) != want {
			t.Errorf("%q: got %v, want %s", text, got, want)
		}
	}
	for _, text := range []string{"30/02/2024", "Account 12345678", "Call 0800 123 456", "2024-13-01", "99 Mayhem 2024", "Total 15.01"} {
		if d := FindDates(text, now); len(d) != 0 {
			t.Errorf("%q: found %v", text, d)
		}
	}
	if d := FindDates("03/04/2024", now); len(d) != 1 || !d[0].Ambiguous || d[0].Time.Month() != time.April {
		t.Errorf("ambiguous numeric date: %+v", d)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func TestFindName(t *testing.T) {
	yes := []struct{ text, first, last string }{
		{"Mr JOHN SMITH\n12 High Street", "John", "Smith"},
		{"SMITH, John", "john", "SMITH"},
		{"Mme Hélène Dupont-Durand", "Helene", "Dupont-Durand"},
		{"HELENE DUPONT DURAND", "Hélène", "Dupont-Durand"},
		{"Customer: J0HN SMlTH", "John", "Smith"},            // OCR digit and l for i
		{"Customer: Jonh Smiht", "John", "Smith"},            // one slip per word
		{"JOHNSMITH account", "John", "Smith"},               // dropped space
		{"Herr Jürgen Groß, Hauptstr. 1", "Jurgen", "Gross"}, // ß spelled out
	}
	for _, c := range yes {
		if m, ok := FindName(c.text, c.first, c.last); !ok {
			t.Errorf("%q: %s %s not found", c.text, c.first, c.last)
		} else if m == "" {
			t.Errorf("%q: empty match", c.text)
		}
	}
	no := []struct{ text, first, last string }{
		{"Mr John Smithson", "John", "Smyth-Jones"},
		{"John lives here. Many other words come between them before Smith", "John", "Smith"},
		{"Jane Smith", "John", "Doe"},
		{"Ann Lee", "Anne", "Li"},
		{"Jo Smith", "Jon", "Smith"},
		{"", "John", "Smith"},
		{"John Smith", "", ""},
	}
	for _, c := range no {
		if m, ok := FindName(c.text, c.first, c.last); ok {
			t.Errorf("%q: %s %s matched %q", c.text, c.first, c.last, m)
		}
	}
}

func TestCheckProofOfAddress(t *testing.T) {
	text := "ACME Power\nBill date: 02/03/2024\nPayment due 25 March 2024\nPrevious bill 2 February 2024\nMs Marie-Claire Lefèvre"
	c := CheckProofOfAddress(text, "Marie-Claire", "Lefevre", now, 90)
	if !c.NameFound || !c.DateFound || c.Date.Format("2006-01-02") != "2024-03-02" || c.AgeDays != 8 || !c.Recent {
		t.Errorf("%+v", c)
	}
	if len(c.Dates) != 3 {
		t.Errorf("dates %v", c.Dates)
	}
	if c := CheckProofOfAddress(text, "Marie-Claire", "Lefevre", now, 7); c.Recent {
		t.Error("8 days old is not within 7")
	}
	if c := CheckProofOfAddress("no dates here", "a", "b", now, 90); c.DateFound || c.Recent || c.NameFound {
		t.Errorf("%+v", c)
	}
}

// renderBill draws a bill (testenv.Bill) and decodes it.
func renderBill(t *testing.T, lines []string) *imageio.Image {
	t.Helper()
	out, _, err := imageio.Decode(testenv.Bill(t, lines), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProofOfAddressFromRenderedBill(t *testing.T) {
	requireTesseract(t)
	img := renderBill(t, []string{
		"NORTHERN WATER & POWER LTD",
		"Customer number 4410-2231-77",
		"Mr Jürgen Müller-Lüdenscheidt",
		"14 Rue des Écoles, 75005 Paris",
		"Statement date: 28 February 2024",
		"Billing period 01/01/2024 - 31/01/2024",
		"Amount due EUR 84.20 by March 20, 2024",
	})
	text, err := testReader(t).ReadText(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("OCR:\n%s", text)
	c := CheckProofOfAddress(text, "Jurgen", "Muller-Ludenscheidt", now, 90)
	if !c.NameFound {
		t.Errorf("name not found in OCR text")
	}
	if !c.DateFound || c.Date.Format("2006-01-02") != "2024-02-28" || !c.Recent {
		t.Errorf("date: %+v", c)
	}
	if c := CheckProofOfAddress(text, "Jurgen", "Muller-Ludenscheidt", now.AddDate(1, 0, 0), 90); c.Recent {
		t.Errorf("a year later the bill is not recent: %+v", c)
	}
	if c := CheckProofOfAddress(text, "Hans", "Schmidt", now, 90); c.NameFound {
		t.Errorf("another name matched %q", c.NameText)
	}
}
