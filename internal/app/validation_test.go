package app

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/draw"
	"image/jpeg"
	_ "image/png"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/barcode"
	"github.com/visagehq/visage/internal/barcode/aamva"
	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

// Seed 003 as its client runs it: applicants opened natively, then the
// seed's request bodies with real images in place of the placeholders.
// Every documented response shape and every row of the error table is
// triggered.
func TestValidationSeedFlow(t *testing.T) {
	s := startServer(t, "", "", nil)
	key := s.newTenant("validation")
	s.srv.Applicants.SetClock(func() time.Time { return time.Date(2010, 6, 1, 12, 0, 0, 0, time.UTC) }) // the specimen passport is valid then
	b64 := func(data []byte) string { return base64.StdEncoding.EncodeToString(data) }
	file := func(parts ...string) []byte {
		data, err := os.ReadFile(fx(t, parts...))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	amy := func(n string) []byte { return file("faces", "bbt", "amy", n) }
	holder := func(n string) []byte { return file("faces", "deepface", "id02_img8", n) }
	angelina := func(n string) []byte { return file("faces", "deepface", "id00_img1", n) }
	open := func(body string) string {
		t.Helper()
		r := s.do(s.request("POST", "/v1/applicants", key, strings.NewReader(body), "application/json"))
		id, _ := r.Body["id"].(string)
		if r.Status != 201 || !strings.HasPrefix(id, "apl_") || r.Body["status"] != "open" {
			t.Fatalf("open applicant: %d %v", r.Status, r.Body)
		}
		return id
	}
	// call sends the seed's request example with model's fields replaced.
	call := func(id string, model map[string]any, extra map[string]any) reply {
		t.Helper()
		body := map[string]any{"model": model, "applicantId": id}
		for k, v := range extra {
			body[k] = v
		}
		b, _ := json.Marshal(body)
		return s.do(s.request("POST", "/api/v2/public/Validation", key, bytes.NewReader(b), "application/json"))
	}
	wantError := func(r reply, status int, code float64, msg string) {
		t.Helper()
		if r.Status != status || r.Body["code"] != code || r.Body["message"] != msg || len(r.Body) != 2 {
			t.Fatalf("want %d %v %q; got %d %v", status, code, msg, r.Status, r.Body)
		}
	}
	vs := func(r reply) map[string]any { return r.Body["validationStatus"].(map[string]any) }

	// Registration by a selfie and a passport (documentType 2): the seed's
	// first example.
	anna := open(`{"subject":"anna"}`)
	passport := holderPassport(t)
	r := call(anna, map[string]any{"faceImageBase64": b64(holder("img50.jpg")), "frontImageBase64": b64(passport), "documentType": 2}, nil)
	if r.Status != 200 || r.Body["status"] != 0.0 || r.Body["applicantId"] != anna || r.Body["attemptId"] != 1.0 || r.Body["documentType"] != 2.0 ||
		r.Body["attemptsCount"] != 3.0 || r.Body["attemptsLeft"] != 0.0 || r.Body["faceSuccess"] != true || r.Body["documentSuccess"] != true ||
		r.Body["documentHasNotExpired"] != true || r.Body["callBackUrl"] != nil || len(r.Body["invalidDataErrors"].([]any)) != 0 {
		t.Fatalf("passport registration: %d %v", r.Status, r.Body)
	}
	if got := keysOf(r.Body); !reflect.DeepEqual(got, []string{"applicantId", "attemptId", "attemptsCount", "attemptsLeft", "callBackUrl", "document",
		"documentHasNotExpired", "documentSuccess", "documentType", "documentValidationTests", "faceSuccess", "invalidDataErrors", "status", "validationStatus"}) {
		t.Fatalf("response fields %v", got)
	}
	if v := vs(r); v["expired"] != false || v["documentIsValid"] != true || v["faceIsValid"] != true || v["antiSpoofingIsValid"] != true || v["qualityIsValid"] != true {
		t.Fatalf("validationStatus %v", v)
	}
	doc := r.Body["document"].(map[string]any)
	// (OCR reads the specimen's given names with a filler as a letter;
	// the check digits, over the number and dates, validate.)
	if len(doc) != 26 || doc["familyName"] != "ERIKSSON" || doc["id"] != "L898902C3" || doc["firstName"] == nil ||
		doc["template"] != "TD3" || doc["idType"] != "P" || doc["gender"] != "FEMALE" || doc["abbr3Country"] != "UTO" || doc["dob"] == nil ||
		doc["expires"] == nil || doc["address"] != nil || doc["eyes"] != nil {
		t.Fatalf("passport document %v", doc)
	}
	tests := r.Body["documentValidationTests"].([]any)
	if len(tests) != 5 || tests[0].(map[string]any)["name"] != "AddressValidation" || tests[1].(map[string]any)["status"] != -1.0 ||
		tests[3].(map[string]any)["name"] != "MRZValidation" || tests[3].(map[string]any)["statusString"] != "Passed" {
		t.Fatalf("documentValidationTests %v", tests)
	}
	got := s.do(s.request("GET", "/v1/applicants/"+anna, key, nil, ""))
	profile, _ := got.Body["profile_id"].(string)
	if got.Status != 200 || got.Body["status"] != "completed" || !strings.HasPrefix(profile, "prf_") {
		t.Fatalf("registered applicant: %d %v", got.Status, got.Body)
	}
	if f := s.do(s.request("GET", "/v1/faces/"+profile, key, nil, "")); f.Status != 200 {
		t.Fatalf("the profile's face was not saved: %d %v", f.Status, f.Body)
	}
	// A second registration of a completed request: 120036.
	r = call(anna, map[string]any{"faceImageBase64": b64(holder("img50.jpg")), "frontImageBase64": b64(passport), "documentType": 2}, nil)
	wantError(r, 400, 120036, `Request "`+anna+`" was already completed`)

	// Authorisation (documentType 10 for the registered applicant): the
	// seed's third example.
	r = call(anna, map[string]any{"faceImageBase64": b64(holder("img51.jpg")), "documentType": 10}, nil)
	wantSeedFaceOnly(t, r, anna, true)

	// The same passport with someone else's selfie: face mismatch, and the
	// request has one attempt fewer.
	other := open(`{"max_attempts":2}`)
	r = call(other, map[string]any{"faceImageBase64": b64(angelina("img1.jpg")), "frontImageBase64": b64(passport), "documentType": 2}, nil)
	if r.Status != 200 || r.Body["status"] != 1.0 || vs(r)["faceIsValid"] != false || r.Body["faceSuccess"] != false ||
		r.Body["documentSuccess"] != true || r.Body["attemptId"] != 1.0 || r.Body["attemptsLeft"] != 1.0 || r.Body["attemptsCount"] != 2.0 {
		t.Fatalf("another person's selfie: %d %v", r.Status, r.Body)
	}
	// Missing document image: InvalidData (status 2), the last attempt.
	r = call(other, map[string]any{"faceImageBase64": b64(angelina("img1.jpg")), "documentType": 2}, nil)
	if r.Status != 200 || r.Body["status"] != 2.0 || r.Body["attemptsLeft"] != 0.0 || len(r.Body["invalidDataErrors"].([]any)) != 1 {
		t.Fatalf("no document image: %d %v", r.Status, r.Body)
	}
	r = call(other, map[string]any{"faceImageBase64": b64(angelina("img1.jpg")), "frontImageBase64": b64(passport), "documentType": 2}, nil)
	wantError(r, 400, 120037, `All available attempts were used for requestId "`+other+`"`)

	// The passport judged today: expired.
	s.srv.Applicants.SetClock(time.Now)
	late := open(`{}`)
	r = call(late, map[string]any{"faceImageBase64": b64(holder("img50.jpg")), "frontImageBase64": b64(passport), "documentType": 2}, nil)
	if r.Status != 200 || r.Body["status"] != 1.0 || vs(r)["expired"] != true || r.Body["documentHasNotExpired"] != false || r.Body["documentSuccess"] != false {
		t.Fatalf("expired passport: %d %v", r.Status, r.Body)
	}

	// Registration by selfie (documentType 10, no profile yet): the
	// seed's second example; then authorisation at the 90 threshold.
	angie := open(`{"subject":"angelina"}`)
	r = call(angie, map[string]any{"faceImageBase64": b64(angelina("img1.jpg")), "documentType": 10}, nil)
	wantSeedFaceOnly(t, r, angie, true)
	r = call(angie, map[string]any{"faceImageBase64": b64(angelina("img4.jpg")), "documentType": 10}, nil)
	wantSeedFaceOnly(t, r, angie, true)
	// img7 scores 88 against img1: under the default 90, over 85.
	r = call(angie, map[string]any{"faceImageBase64": b64(angelina("img7.jpg")), "documentType": 10}, nil)
	if r.Status != 200 || r.Body["status"] != 1.0 || vs(r)["faceIsValid"] != false || r.Body["attemptsLeft"] != 2.0 {
		t.Fatalf("authorisation under the threshold: %d %v", r.Status, r.Body)
	}
	if p := s.do(s.request("PATCH", "/v1/integration", key, strings.NewReader(`{"search_threshold":85}`), "application/json")); p.Status != 200 {
		t.Fatalf("set search_threshold: %d %v", p.Status, p.Body)
	}
	r = call(angie, map[string]any{"faceImageBase64": b64(angelina("img7.jpg")), "documentType": 10}, nil)
	wantSeedFaceOnly(t, r, angie, true)
	// Another person is not authorised as her.
	r = call(angie, map[string]any{"faceImageBase64": b64(file("faces", "deepface", "id01_img3", "img3.jpg")), "documentType": 10}, nil)
	if r.Status != 200 || r.Body["status"] != 1.0 || vs(r)["faceIsValid"] != false {
		t.Fatalf("another person authorised: %d %v", r.Status, r.Body)
	}
	// A second applicant with her face: the duplicate search refuses it.
	twin := open(`{}`)
	r = call(twin, map[string]any{"faceImageBase64": b64(angelina("img2.jpg")), "documentType": 10}, nil)
	if r.Status != 200 || r.Body["status"] != 1.0 || vs(r)["faceIsValid"] != false || r.Body["faceSuccess"] != false {
		t.Fatalf("a second registration of one face: %d %v", r.Status, r.Body)
	}
	// A printed photo fails anti-spoofing.
	spoof := open(`{}`)
	r = call(spoof, map[string]any{"faceImageBase64": b64(file("liveness", "spoof", "minivision_F1_print.jpg")), "documentType": 10}, nil)
	if r.Status != 200 || r.Body["status"] != 1.0 || vs(r)["antiSpoofingIsValid"] != false || r.Body["faceSuccess"] != false {
		t.Fatalf("printed photo: %d %v", r.Status, r.Body)
	}

	// An authorisation applicant for a returning subject.
	back := open(`{"purpose":"authorization","subject":"angelina"}`)
	r = call(back, map[string]any{"faceImageBase64": b64(angelina("img4.jpg")), "documentType": 10}, nil)
	wantSeedFaceOnly(t, r, back, true)
	nobody := open(`{"purpose":"authorization","subject":"nobody"}`)
	r = call(nobody, map[string]any{"faceImageBase64": b64(angelina("img4.jpg")), "documentType": 10}, nil)
	wantError(r, 400, 120043, "Applicant doesn't have verified face")
	// Its profile deleted (erasure on request): 120043 too.
	if d := s.do(s.request("DELETE", "/v1/faces/"+profile, key, nil, "")); d.Status != 204 {
		t.Fatalf("delete profile face: %d %v", d.Status, d.Body)
	}
	r = call(anna, map[string]any{"faceImageBase64": b64(holder("img51.jpg")), "documentType": 10}, nil)
	wantError(r, 400, 120043, "Applicant profile not found")

	// The selfie's rows.
	fresh := open(`{}`)
	wantError(call(fresh, map[string]any{"documentType": 10}, nil), 400, 120042, "Face image is required")
	wantError(call(fresh, map[string]any{"faceImageBase64": "", "documentType": 10}, nil), 400, 120038, "Face image is empty")
	wantError(call(fresh, map[string]any{"faceImageBase64": b64(file("documents", "pacman.jpg")), "documentType": 10}, nil), 400, 120038, "No faces found")
	wantError(call(fresh, map[string]any{"faceImageBase64": b64(sideBySide(t, amy("amy2.png"), amy("amy3.png"))), "documentType": 10}, nil),
		400, 120038, "Multiple faces found")
	wantError(call(fresh, map[string]any{"faceImageBase64": b64(amy("amy2.png")), "documentType": 7}, nil), 400, 120041, "This document type is not supported")
	if a := s.do(s.request("GET", "/v1/applicants/"+fresh, key, nil, "")); a.Body["attempts"] != 0.0 {
		t.Fatalf("refused requests cost attempts: %v", a.Body)
	}
	// LRS endeavor: the request must name the applicant's.
	lrs := open(`{"endeavor_id":"E-1"}`)
	wantError(call(lrs, map[string]any{"faceImageBase64": b64(amy("amy2.png")), "documentType": 10}, map[string]any{"endeavorId": "E-2"}),
		400, 120044, "Invalid endeavor info")
	// Closed request: 120040.
	if c := s.do(s.request("POST", "/v1/applicants/"+lrs+"/close", key, nil, "")); c.Status != 200 || c.Body["status"] != "closed" {
		t.Fatalf("close: %d %v", c.Status, c.Body)
	}
	wantError(call(lrs, map[string]any{"faceImageBase64": b64(amy("amy2.png")), "documentType": 10}, map[string]any{"endeavorId": "E-1"}),
		400, 120040, "Request is closed")
	// Visage's own: unknown applicant, missing fields, bad key.
	wantError(call("apl_nope", map[string]any{"faceImageBase64": b64(amy("amy2.png")), "documentType": 10}, nil), 404, 129404, `Applicant "apl_nope" not found`)
	wantError(call("", map[string]any{"documentType": 10}, nil), 400, 129400, "applicantId is required")
	wantError(call(fresh, map[string]any{"faceImageBase64": b64(amy("amy2.png"))}, nil), 400, 129400, "model.documentType is required")
	r = s.do(s.request("POST", "/api/v2/public/Validation", "key_wrong.secret", strings.NewReader(`{}`), "application/json"))
	wantError(r, 401, 129401, "Unauthorized: send a valid x-api-key")

	// With anti-spoofing left out by the policy, the seed's example body
	// exactly, antiSpoofingIsValid null.
	if p := s.do(s.request("PATCH", "/v1/integration", key, strings.NewReader(`{"skip_anti_spoofing":true}`), "application/json")); p.Status != 200 {
		t.Fatalf("skip anti-spoofing: %d %v", p.Status, p.Body)
	}
	third := open(`{}`)
	r = call(third, map[string]any{"faceImageBase64": b64(file("faces", "deepface", "id05_img18", "img18.jpg")), "documentType": 10}, nil)
	wantSeedFaceOnly(t, r, third, false)
}

// wantSeedFaceOnly checks a documentType 10 success against the seed's
// example bodies (live: antiSpoofingIsValid true, else the seed's null).
func wantSeedFaceOnly(t *testing.T, r reply, id string, live bool) {
	t.Helper()
	var anti any
	if live {
		anti = true
	}
	want := map[string]any{"applicantId": id, "documentType": 10.0, "document": nil, "attemptsCount": 3.0, "attemptsLeft": 0.0,
		"status": 0.0, "validationStatus": map[string]any{"expired": nil, "documentIsValid": nil, "faceIsValid": true,
			"antiSpoofingIsValid": anti, "qualityIsValid": true},
		"invalidDataErrors": []any{}, "faceSuccess": true, "documentSuccess": nil, "documentHasNotExpired": nil,
		"documentValidationTests": []any{}, "callBackUrl": nil}
	if r.Status != 200 {
		t.Fatalf("face only: %d %v", r.Status, r.Body)
	}
	n, _ := r.Body["attemptId"].(float64)
	delete(r.Body, "attemptId")
	if n < 1 || !reflect.DeepEqual(r.Body, want) {
		t.Fatalf("face only (attempt %v):\n got %v\nwant %v", n, r.Body, want)
	}
}

// holderPassport is the specimen passport with a fixture person's photo
// (deepface id02, img48) as the holder's.
func holderPassport(t *testing.T) []byte {
	return testenv.DocumentWithFace(t, []string{"documents", "passport-td3.jpg"}, testenv.SpecimenPhoto,
		[]string{"faces", "deepface", "id02_img8", "img48.jpg"}, testenv.Box{201.8, 160.3, 540, 672.8}, 0)
}

// sideBySide puts two photos in one image: two faces.
func sideBySide(t *testing.T, a, b []byte) []byte {
	t.Helper()
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	w, h := ia.Bounds().Dx()+ib.Bounds().Dx()+40, max(ia.Bounds().Dy(), ib.Bounds().Dy())+40
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, ia.Bounds().Add(image.Pt(10, 20)), ia, ia.Bounds().Min, draw.Src)
	draw.Draw(out, ib.Bounds().Add(image.Pt(30+ia.Bounds().Dx(), 20)), ib, ib.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The seed's example response is for a US driving licence (documentType
// 1): the AAMVA barcode on its back, photographed flat, gives the seed's
// document object field for field.
func TestValidationLicence(t *testing.T) {
	s := startServer(t, "", "", nil)
	key := s.newTenant("validation-licence")
	s.srv.Applicants.SetClock(func() time.Time { return time.Date(2023, 6, 1, 12, 0, 0, 0, time.UTC) })
	r := s.do(s.request("POST", "/v1/applicants", key, strings.NewReader(`{}`), "application/json"))
	id := r.Body["id"].(string)
	front := holderPassport(t) // the holder's photo side
	selfie, _ := os.ReadFile(fx(t, "faces", "deepface", "id02_img8", "img50.jpg"))
	body, _ := json.Marshal(map[string]any{"applicantId": id, "endeavorId": "E-1", "model": map[string]any{"documentType": 1,
		"faceImageBase64": base64.StdEncoding.EncodeToString(selfie), "frontImageBase64": base64.StdEncoding.EncodeToString(front),
		"backImageBase64": base64.StdEncoding.EncodeToString(licenceBack(t))}})
	r = s.do(s.request("POST", "/api/v2/public/Validation", key, bytes.NewReader(body), "application/json"))
	if r.Status != 200 || r.Body["status"] != 0.0 || r.Body["documentType"] != 1.0 || r.Body["documentSuccess"] != true {
		t.Fatalf("licence registration: %d %v", r.Status, r.Body)
	}
	// The seed's document object, verbatim.
	want := map[string]any{"privateName": "JOHN SAMPLE", "abbr3Country": "USA", "abbrCountry": nil, "address": "111 N 5TH ST",
		"city": "COLUMBUS", "class": "D", "country": "United States of America", "dob": "1999-01-12", "expires": "2024-01-12",
		"eyes": "BLUE", "familyName": nil, "firstName": "JOHN", "fullName": "JOHN SAMPLE", "gender": "MALE", "hair": "BLONDE",
		"height": "70", "id": "12345678", "idType": "DL", "issued": "2020-12-30", "middleName": "SAMPLE", "postalBox": nil,
		"state": "OH", "issuedBy": "OH", "template": "09", "weight": "159", "zip": "12345-6789"}
	if !reflect.DeepEqual(r.Body["document"], want) {
		t.Fatalf("document\n got %v\nwant %v", r.Body["document"], want)
	}
	tests := r.Body["documentValidationTests"].([]any)
	if len(tests) != 4 || tests[3].(map[string]any)["name"] != "BarcodeValidation" || tests[3].(map[string]any)["status"] != 0.0 {
		t.Fatalf("tests %v", tests)
	}
	// Without the back (the front has no barcode): InvalidData.
	r = s.do(s.request("POST", "/v1/applicants", key, strings.NewReader(`{}`), "application/json"))
	id2 := r.Body["id"].(string)
	body, _ = json.Marshal(map[string]any{"applicantId": id2, "model": map[string]any{"documentType": 1,
		"faceImageBase64": base64.StdEncoding.EncodeToString(selfie), "frontImageBase64": base64.StdEncoding.EncodeToString(front)}})
	r = s.do(s.request("POST", "/api/v2/public/Validation", key, bytes.NewReader(body), "application/json"))
	if r.Status != 200 || r.Body["status"] != 2.0 || len(r.Body["invalidDataErrors"].([]any)) != 1 || r.Body["attemptsLeft"] != 2.0 {
		t.Fatalf("licence without its back: %d %v", r.Status, r.Body)
	}
	// The native side of the same attempt: the face is registered already
	// (the first applicant), so the duplicate search refuses it.
	nb, _ := json.Marshal(map[string]any{"document_type": 1, "face_image": base64.StdEncoding.EncodeToString(selfie),
		"document_front": base64.StdEncoding.EncodeToString(front), "document_back": base64.StdEncoding.EncodeToString(licenceBack(t))})
	r = s.do(s.request("POST", "/v1/applicants/"+id2+"/validate", key, bytes.NewReader(nb), "application/json"))
	first := s.do(s.request("GET", "/v1/applicants/"+id, key, nil, "")).Body["profile_id"]
	if d, _ := r.Body["document"].(map[string]any); r.Status != 200 || r.Body["outcome"] != "fail" || d["abbr_country"] != "US" ||
		r.Body["duplicate_of"] != first || !reflect.DeepEqual(r.Body["reasons"], []any{"duplicate"}) {
		t.Fatalf("native licence registration: %d %v", r.Status, r.Body)
	}
}

// elements builds AAMVA elements from code, value pairs.
func elements(kv ...string) []aamva.Element {
	out := make([]aamva.Element, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, aamva.Element{Code: kv[i], Value: kv[i+1]})
	}
	return out
}

// licenceBack is the back of the seed's Ohio licence: its PDF417 symbol
// on a white card, as a JPEG.
func licenceBack(t *testing.T) []byte {
	t.Helper()
	data := aamva.Build("636023", 9, 0,
		aamva.Subfile{Type: "DL", Elements: elements("DAQ", "12345678", "DCA", "D", "DCB", "NONE", "DCD", "NONE", "DBA", "01122024", "DAC", "JOHN", "DDF", "N", "DAD", "SAMPLE", "DDG", "N", "DBD", "12302020", "DBB", "01121999", "DBC", "1", "DAY", "BLU", "DAU", "070 IN", "DAG", "111 N 5TH ST", "DAI", "COLUMBUS", "DAJ", "OH", "DAK", "123456789  ", "DCF", "1234567890123456", "DCG", "USA", "DAZ", "BLN", "DAW", "159", "DDK", "1")})
	sym, err := barcode.EncodePDF417(data, 3, 10, 3)
	if err != nil {
		t.Skipf("no PDF417 encoder (built without zxing-cpp): %v", err)
	}
	card := imageio.NewImage(sym.W+200, sym.H+300)
	for i := range card.Pix {
		card.Pix[i] = 250
	}
	for y := 0; y < sym.H; y++ {
		copy(card.Pix[((y+150)*card.W+100)*3:((y+150)*card.W+100+sym.W)*3], sym.Pix[y*sym.W*3:(y+1)*sym.W*3])
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, card.ToRGBA(), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A registration whose face was enrolled but whose applicant was never
// completed (the server died between the two) is not stuck: the next
// attempt finds the profile it enrolled and adopts it instead of failing
// as a duplicate of itself. The crash is simulated by enrolling the
// profile with the applicant's id in its metadata, as the attempt does.
func TestValidationAdoptsItsOwnProfileAfterACrash(t *testing.T) {
	s := startServer(t, "", "", nil)
	key := s.newTenant("validation-crash")
	r := s.do(s.request("POST", "/v1/applicants", key, strings.NewReader(`{}`), "application/json"))
	id, _ := r.Body["id"].(string)
	if r.Status != 201 {
		t.Fatalf("open applicant: %d %v", r.Status, r.Body)
	}
	meta := `{"applicant_id":"` + id + `","subject":""}`
	if e := s.do(s.multipartReq("/v1/faces", key, map[string]string{"face_id": "prf_crashed", "metadata": meta},
		[][2]string{{"image", fx(t, "faces", "deepface", "id00_img1", "img1.jpg")}})); e.Status != 201 {
		t.Fatalf("the crashed attempt's profile: %d %v", e.Status, e.Body)
	}
	v := s.do(s.multipartReq("/v1/applicants/"+id+"/validate", key, map[string]string{"document_type": "10"},
		[][2]string{{"face_image", fx(t, "faces", "deepface", "id00_img1", "img2.jpg")}}))
	if v.Status != 200 || v.Body["outcome"] != "success" || v.Body["profile_id"] != "prf_crashed" {
		t.Fatalf("retry after the crash: %d %v", v.Status, v.Body)
	}
	other := s.do(s.request("POST", "/v1/applicants", key, strings.NewReader(`{}`), "application/json"))
	oid, _ := other.Body["id"].(string)
	d := s.do(s.multipartReq("/v1/applicants/"+oid+"/validate", key, map[string]string{"document_type": "10"},
		[][2]string{{"face_image", fx(t, "faces", "deepface", "id00_img1", "img4.jpg")}}))
	if d.Status != 200 || d.Body["outcome"] != "fail" || d.Body["duplicate_of"] != "prf_crashed" {
		t.Fatalf("another applicant with that face: %d %v", d.Status, d.Body)
	}
}
