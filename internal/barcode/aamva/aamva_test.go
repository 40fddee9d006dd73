package aamva

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ohio is the card behind the Validation API's example response (seed
// 003): Ohio, AAMVA version 09, JOHN SAMPLE with no family name element.
func ohio() []byte { return Build("636023", 9, 0, ohioDL, ohioZO) }

// ohioSwapped puts the jurisdiction subfile first.
func ohioSwapped() []byte { return Build("636023", 9, 0, ohioZO, ohioDL) }

var (
	ohioDL = Subfile{"DL", []Element{
		{"DAQ", "12345678"}, {"DCA", "D"}, {"DCB", "NONE"}, {"DCD", "NONE"},
		{"DBA", "01122024"}, {"DAC", "JOHN"}, {"DDF", "N"}, {"DAD", "SAMPLE"}, {"DDG", "N"},
		{"DBD", "12302020"}, {"DBB", "01121999"}, {"DBC", "1"}, {"DAY", "BLU"},
		{"DAU", "070 IN"}, {"DAG", "111 N 5TH ST"}, {"DAI", "COLUMBUS"}, {"DAJ", "OH"},
		{"DAK", "123456789  "}, {"DCF", "1234567890123456"}, {"DCG", "USA"},
		{"DAZ", "BLN"}, {"DAW", "159"}, {"DDK", "1"},
	}}
	ohioZO = Subfile{"ZO", []Element{{"ZOZ", "A"}, {"ZOE", "N"}}}
)

// seedDocument is the "document" object of seed 003's example response,
// except abbrCountry: the vendor sends null, we know it is "US".
func seedDocument() map[string]any {
	return map[string]any{
		"PrivateName": "JOHN SAMPLE", "Abbr3Country": "USA", "AbbrCountry": "US",
		"Address": "111 N 5TH ST", "City": "COLUMBUS", "Class": "D",
		"Country": "United States of America", "Dob": "1999-01-12", "Expires": "2024-01-12",
		"Eyes": "BLUE", "FamilyName": nil, "FirstName": "JOHN", "FullName": "JOHN SAMPLE",
		"Gender": "MALE", "Hair": "BLONDE", "Height": "70", "ID": "12345678", "IDType": "DL",
		"Issued": "2020-12-30", "MiddleName": "SAMPLE", "PostalBox": nil, "State": "OH",
		"IssuedBy": "OH", "Template": "09", "Weight": "159", "Zip": "12345-6789",
	}
}

// fields turns a Document into name → string or nil, to compare with a
// literal and to print what differs.
func fields(d Document) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(d)
	for i := 0; i < v.NumField(); i++ {
		p := v.Field(i).Interface().(*string)
		if p == nil {
			out[v.Type().Field(i).Name] = nil
		} else {
			out[v.Type().Field(i).Name] = *p
		}
	}
	return out
}

func sameFields(t *testing.T, got Document, want map[string]any) {
	t.Helper()
	g := fields(got)
	for k, w := range want {
		if g[k] != w {
			t.Errorf("%s = %v, want %v", k, g[k], w)
		}
	}
	for k := range g {
		if _, ok := want[k]; !ok {
			t.Errorf("field %s not checked", k)
		}
	}
}

func TestSeedExample(t *testing.T) {
	l, err := Parse(ohio())
	if err != nil {
		t.Fatal(err)
	}
	sameFields(t, l.Document(), seedDocument())
	if l.Header.IIN != "636023" || l.Header.Version != 9 || l.Header.JurisdictionVersion != 0 || l.Header.Entries != 2 {
		t.Errorf("header %+v", l.Header)
	}
	if len(l.Header.Designators) != 2 || l.Header.Designators[1].Type != "ZO" {
		t.Errorf("designators %+v", l.Header.Designators)
	}
	if l.Elements["DCF"] != "1234567890123456" || l.Elements["DDK"] != "1" {
		t.Errorf("elements %v", l.Elements)
	}
	if _, ok := l.Elements["ZOZ"]; ok {
		t.Error("the jurisdiction subfile leaked into the DL subfile")
	}
	if !l.Expired(time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)) || l.Expired(time.Date(2024, 1, 12, 23, 59, 0, 0, time.UTC)) {
		t.Error("a card is valid through its expiry day and no longer")
	}
	if age, ok := l.Age(time.Date(2021, 1, 11, 12, 0, 0, 0, time.UTC)); !ok || age != 21 {
		t.Errorf("age the day before the 22nd birthday = %d, %v", age, ok)
	}
	if age, _ := l.Age(time.Date(2021, 1, 12, 0, 0, 0, 0, time.UTC)); age != 22 {
		t.Errorf("age on the 22nd birthday = %d", age)
	}
}

func TestJurisdictionsAndVersions(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want map[string]any
	}{
		{
			"ontario 2020, CCYYMMDD, centimetres, kilograms",
			Build("636012", 10, 1, Subfile{"DL", []Element{
				{"DCA", "G"}, {"DCB", "NONE"}, {"DCD", "NONE"}, {"DBA", "20290704"},
				{"DCS", "TREMBLAY"}, {"DAC", "MARIE"}, {"DAD", "CLAIRE,ANNE"}, {"DBD", "20240704"},
				{"DBB", "19900704"}, {"DBC", "2"}, {"DAY", "GRN"}, {"DAU", "165 CM"},
				{"DAG", "100 QUEEN ST W"}, {"DAH", "APT 1204"}, {"DAI", "TORONTO"}, {"DAJ", "ON"},
				{"DAK", "M5H2N2     "}, {"DAQ", "T1234-56789-00704"}, {"DCF", "ABCD1234"},
				{"DCG", "CAN"}, {"DDE", "N"}, {"DDF", "N"}, {"DDG", "N"}, {"DAX", "60"},
			}}),
			map[string]any{
				"PrivateName": "MARIE CLAIRE ANNE", "Abbr3Country": "CAN", "AbbrCountry": "CA",
				"Address": "100 QUEEN ST W, APT 1204", "City": "TORONTO", "Class": "G",
				"Country": "Canada", "Dob": "1990-07-04", "Expires": "2029-07-04", "Eyes": "GREEN",
				"FamilyName": "TREMBLAY", "FirstName": "MARIE", "FullName": "MARIE CLAIRE ANNE TREMBLAY",
				"Gender": "FEMALE", "Hair": nil, "Height": "65", "ID": "T1234-56789-00704",
				"IDType": "DL", "Issued": "2024-07-04", "MiddleName": "CLAIRE ANNE", "PostalBox": nil,
				"State": "ON", "IssuedBy": "ON", "Template": "10", "Weight": "132", "Zip": "M5H 2N2",
			},
		},
		{
			"virginia 2016 ID card, the sample in Annex D's shape",
			Build("636000", 8, 1, Subfile{"ID", []Element{
				{"DAQ", "T64235789"}, {"DCS", "SAMPLE"}, {"DDE", "N"}, {"DAC", "MICHAEL"}, {"DDF", "N"},
				{"DAD", "JOHN"}, {"DDG", "N"}, {"DCU", "JR"}, {"DCA", "NONE"}, {"DCB", "NONE"}, {"DCD", "NONE"},
				{"DBD", "06062019"}, {"DBB", "06061986"}, {"DBA", "12102024"}, {"DBC", "1"},
				{"DAU", "068 in"}, {"DAY", "BRO"}, {"DAG", "PO BOX 2300"}, {"DAI", "RICHMOND"},
				{"DAJ", "VA"}, {"DAK", "232690000  "}, {"DCF", "2424244747474786102204"}, {"DCG", "USA"},
			}}, Subfile{"ZV", []Element{{"ZVA", "01"}}}),
			map[string]any{
				"PrivateName": "MICHAEL JOHN", "Abbr3Country": "USA", "AbbrCountry": "US",
				"Address": "PO BOX 2300", "City": "RICHMOND", "Class": nil,
				"Country": "United States of America", "Dob": "1986-06-06", "Expires": "2024-12-10",
				"Eyes": "BROWN", "FamilyName": "SAMPLE", "FirstName": "MICHAEL", "FullName": "MICHAEL JOHN SAMPLE",
				"Gender": "MALE", "Hair": nil, "Height": "68", "ID": "T64235789", "IDType": "ID",
				"Issued": "2019-06-06", "MiddleName": "JOHN", "PostalBox": "2300", "State": "VA",
				"IssuedBy": "VA", "Template": "08", "Weight": nil, "Zip": "23269",
			},
		},
		{
			"version 3 (2005): DCT given names",
			Build("636015", 3, 0, Subfile{"DL", []Element{
				{"DCA", "C"}, {"DCB", "NONE"}, {"DCD", "NONE"}, {"DBA", "03152027"}, {"DCS", "GARCIA"},
				{"DCT", "ANA,LUISA"}, {"DBD", "03152019"}, {"DBB", "03151975"}, {"DBC", "2"},
				{"DAY", "HAZ"}, {"DAU", "063 IN"}, {"DAG", "1 MAIN ST"}, {"DAI", "AUSTIN"}, {"DAJ", "TX"},
				{"DAK", "787010000"}, {"DAQ", "12345678"}, {"DCF", "X"}, {"DCG", "USA"}, {"DAZ", "BRO"},
				{"DAW", "130"},
			}}),
			map[string]any{
				"PrivateName": "ANA LUISA", "Abbr3Country": "USA", "AbbrCountry": "US",
				"Address": "1 MAIN ST", "City": "AUSTIN", "Class": "C",
				"Country": "United States of America", "Dob": "1975-03-15", "Expires": "2027-03-15",
				"Eyes": "HAZEL", "FamilyName": "GARCIA", "FirstName": "ANA", "FullName": "ANA LUISA GARCIA",
				"Gender": "FEMALE", "Hair": "BROWN", "Height": "63", "ID": "12345678", "IDType": "DL",
				"Issued": "2019-03-15", "MiddleName": "LUISA", "PostalBox": nil, "State": "TX",
				"IssuedBy": "TX", "Template": "03", "Weight": "130", "Zip": "78701",
			},
		},
		{
			"version 1 (DL/ID-2000): DAA full name, CCYYMMDD, feet-inches, DAR class",
			Build("636025", 1, 0, Subfile{"DL", []Element{
				{"DAQ", "75706564"}, {"DAA", "DOE,JANE,Q"}, {"DAG", "1234 ELM ST"}, {"DAI", "PITTSBURGH"},
				{"DAJ", "PA"}, {"DAK", "15213"}, {"DAR", "C"}, {"DBA", "20261001"}, {"DBB", "19911001"},
				{"DBC", "F"}, {"DBD", "20180703"}, {"DAU", "5-04"}, {"DAW", "120"}, {"DAY", "BLU"},
			}}),
			map[string]any{
				"PrivateName": "JANE Q", "Abbr3Country": "USA", "AbbrCountry": "US",
				"Address": "1234 ELM ST", "City": "PITTSBURGH", "Class": "C",
				"Country": "United States of America", "Dob": "1991-10-01", "Expires": "2026-10-01",
				"Eyes": "BLUE", "FamilyName": "DOE", "FirstName": "JANE", "FullName": "JANE Q DOE",
				"Gender": "FEMALE", "Hair": nil, "Height": "64", "ID": "75706564", "IDType": "DL",
				"Issued": "2018-07-03", "MiddleName": "Q", "PostalBox": nil, "State": "PA",
				"IssuedBy": "PA", "Template": "01", "Weight": "120", "Zip": "15213",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Parse(c.data)
			if err != nil {
				t.Fatal(err)
			}
			sameFields(t, l.Document(), c.want)
		})
	}
}

// TestQuirks feeds the Ohio card damaged the ways real cards and scanners
// damage it; every variant must still give the seed's fields.
func TestQuirks(t *testing.T) {
	good := string(ohio())
	hdrEnd := strings.Index(good, "DLDAQ")
	cases := map[string]string{
		"no CR anywhere":             strings.ReplaceAll(good, "\r", ""),
		"CR LF for every LF":         good[:4] + strings.ReplaceAll(good[4:], "\n", "\r\n"),
		"offset zero":                strings.Replace(good, "DL0041", "DL0000", 1),
		"offset in letters":          strings.Replace(good, "DL0041", "DLabac", 1),
		"offset one short":           strings.Replace(good, "DL0041", "DL0040", 1),
		"offset past the end":        strings.Replace(good, "DL0041", "DL9999", 1),
		"junk before the header":     "]L0" + good,
		"separators lost":            "@ANSI " + good[9:],
		"no space after ANSI":        strings.Replace(good, "ANSI ", "ANSI", 1),
		"file type AAMVA":            strings.Replace(good, "ANSI ", "AAMVA", 1),
		"no designators":             good[:19] + "00" + good[hdrEnd:],
		"type not repeated":          strings.Replace(good, "DLDAQ", "DAQ", 1),
		"jurisdiction subfile first": string(ohioSwapped()),
		"trailing spaces and NUL":    good + "  \x00\x00",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := Parse([]byte(data))
			if err != nil {
				t.Fatalf("%v\n%q", err, data)
			}
			sameFields(t, l.Document(), seedDocument())
		})
	}
}

func TestErrors(t *testing.T) {
	header := string(ohio()[:41])
	cases := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrNotAAMVA},
		{"plain text", "hello, world", ErrNotAAMVA},
		{"a URL in a QR code", "https://example.com/ANSI", ErrNotAAMVA},
		{"IIN cut short", "@\n\x1e\rANSI 6360", ErrNotAAMVA},
		{"no version", "@\n\x1e\rANSI 636023", ErrNotAAMVA},
		{"no entries", "@\n\x1e\rANSI 63602309", ErrNotAAMVA},
		{"zero entries, no data", "@\n\x1e\rANSI 6360230900", ErrNoSubfile},
		{"header alone", header, ErrNoSubfile},
		{"subfile without elements", header + "DL\r", ErrNoSubfile},
		{"too large", header + strings.Repeat("DAQ1\n", MaxSize/5+1), ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Parse([]byte(c.data))
			if !errors.Is(err, c.want) {
				t.Fatalf("Parse = %+v, %v; want %v", l, err, c.want)
			}
		})
	}
}

func TestDates(t *testing.T) {
	cases := []struct {
		in       string
		ymdFirst bool
		want     string
	}{
		{"01121999", false, "1999-01-12"},
		{"19990112", false, "1999-01-12"}, // wrong order for a US card: still read
		{"19990112", true, "1999-01-12"},
		{"01121999", true, "1999-01-12"},
		{"02292000", false, "2000-02-29"},
		{"02292001", false, ""},
		{"00000000", false, ""},
		{"99999999", false, ""},
		{"0112199", false, ""},
		{"01121999M", false, "1999-01-12"},
		{"1999-01-12", false, ""},
	}
	for _, c := range cases {
		got := date(c.in, c.ymdFirst)
		s := ""
		if !got.IsZero() {
			s = got.Format("2006-01-02")
		}
		if s != c.want {
			t.Errorf("date(%q, %v) = %q, want %q", c.in, c.ymdFirst, s, c.want)
		}
	}
}

func TestHeightWeight(t *testing.T) {
	heights := []struct {
		dau, dav string
		version  int
		want     int
	}{
		{"070 IN", "", 9, 70}, {"070IN", "", 9, 70}, {"068 in", "", 8, 68}, {"175 CM", "", 9, 69},
		{"5-08", "", 1, 68}, {"5'-08\"", "", 1, 68}, {"508", "", 1, 68}, {"", "175", 1, 69},
		{"070", "", 9, 70}, {"999 IN", "", 9, 0}, {"ABC", "", 9, 0}, {"5-13", "", 1, 0},
	}
	for _, c := range heights {
		if got := height(c.dau, c.dav, c.version); got != c.want {
			t.Errorf("height(%q, %q, v%d) = %d, want %d", c.dau, c.dav, c.version, got, c.want)
		}
	}
	weights := []struct {
		daw, dax string
		want     int
	}{{"159", "", 159}, {"159 LB", "", 159}, {"", "72", 159}, {"", "", 0}, {"5", "", 0}, {"X", "300", 661}}
	for _, c := range weights {
		if got := weight(c.daw, c.dax); got != c.want {
			t.Errorf("weight(%q, %q) = %d, want %d", c.daw, c.dax, got, c.want)
		}
	}
}
