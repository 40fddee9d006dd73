package faceauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/visagehq/visage/internal/crypto"
)

// A portable credential is a template or a best-image token that leaves
// the server: the client keeps it and sends it back. Its layout:
//
//	magic "VSG" | version(1) | kind(1) | tenant fingerprint(8) |
//	len(model)(1) | model | envelope
//
// The envelope (crypto.Keyring.Seal under the integration's data key)
// holds the payload, with everything before it as additional data, so a
// changed header byte fails to open. The fingerprint and model stay in
// the clear only so that a credential of another integration or model is
// refused with that reason rather than as "tampered"; they say nothing
// about the face.
//
// Payload: created(ms, 8) | expires(ms, 8; 0 = never) | id(16) |
// liveness flag(1) | liveness score(float32, 4) | len(user)(2) | user |
// dim(2) | vector(float32 LE × dim).
const (
	portableMagic   = "VSG"
	portableVersion = 1

	kindTemplate  byte = 1
	kindBestImage byte = 2

	portableIDLen  = 16
	maxPortableLen = 16 << 10 // far above any model's vector, far below a field
)

// portable is the decoded content of a template or token.
type portable struct {
	Kind      byte
	Model     string
	Created   time.Time
	Expires   time.Time // zero: never
	ID        [portableIDLen]byte
	Liveness  *float32 // nil: not checked when issued
	UserID    string
	Vector    []float32
	tenantTag [8]byte
}

// Errors of reading a portable credential. Each is its own reason a
// surface may name.
var (
	errPortableTampered = errors.New("not a valid credential, or it was altered")
	errPortableForeign  = errors.New("sealed for another integration")
	errPortableModel    = errors.New("made by another face model")
	errPortableKind     = errors.New("a credential of another kind")
)

func tenantTag(integrationID string) [8]byte {
	sum := sha256.Sum256([]byte("visage/portable/tenant|" + integrationID))
	var tag [8]byte
	copy(tag[:], sum[:8])
	return tag
}

func portableHeader(kind byte, integrationID, model string) []byte {
	tag := tenantTag(integrationID)
	h := make([]byte, 0, 14+len(model))
	h = append(h, portableMagic...)
	h = append(h, portableVersion, kind)
	h = append(h, tag[:]...)
	h = append(h, byte(len(model)))
	return append(h, model...)
}

// portableAD binds the envelope to its header and integration.
func portableAD(header []byte, integrationID string) []byte {
	return append([]byte("visage/portable/v1|"+integrationID+"|"), header...)
}

// sealPortable encodes and seals p for an integration.
func sealPortable(kr *crypto.Keyring, integrationID string, p *portable) ([]byte, error) {
	if len(p.Model) > 255 || len(p.UserID) > math.MaxUint16 || len(p.Vector) > math.MaxUint16 {
		return nil, fmt.Errorf("seal credential: field too long")
	}
	var body bytes.Buffer
	_ = binary.Write(&body, binary.BigEndian, p.Created.UnixMilli())
	var exp int64
	if !p.Expires.IsZero() {
		exp = p.Expires.UnixMilli()
	}
	_ = binary.Write(&body, binary.BigEndian, exp)
	body.Write(p.ID[:])
	var flag byte
	var score float32
	if p.Liveness != nil {
		flag, score = 1, *p.Liveness
	}
	body.WriteByte(flag)
	_ = binary.Write(&body, binary.BigEndian, math.Float32bits(score))
	_ = binary.Write(&body, binary.BigEndian, uint16(len(p.UserID)))
	body.WriteString(p.UserID)
	_ = binary.Write(&body, binary.BigEndian, uint16(len(p.Vector)))
	body.Write(vecBytes(p.Vector))

	header := portableHeader(p.Kind, integrationID, p.Model)
	env, err := kr.Seal(body.Bytes(), portableAD(header, integrationID))
	if err != nil {
		return nil, fmt.Errorf("seal credential: %w", err)
	}
	return append(header, env...), nil
}

// openPortable checks a credential's header against the integration and
// the engine's model, then opens it. Every failure is one of the
// errPortable* reasons.
func openPortable(kr *crypto.Keyring, integrationID, model string, kind byte, raw []byte) (*portable, error) {
	if len(raw) > maxPortableLen || len(raw) < 14 || string(raw[:3]) != portableMagic || raw[3] != portableVersion {
		return nil, errPortableTampered
	}
	if raw[4] != kind {
		return nil, errPortableKind
	}
	var tag [8]byte
	copy(tag[:], raw[5:13])
	if tag != tenantTag(integrationID) {
		return nil, errPortableForeign
	}
	n := int(raw[13])
	if len(raw) < 14+n {
		return nil, errPortableTampered
	}
	if string(raw[14:14+n]) != model {
		return nil, errPortableModel
	}
	header := raw[:14+n]
	body, err := kr.Open(raw[14+n:], portableAD(header, integrationID))
	if err != nil {
		return nil, errPortableTampered
	}
	p, err := decodePortable(body)
	if err != nil {
		return nil, errPortableTampered
	}
	p.Kind, p.Model, p.tenantTag = kind, model, tag
	return p, nil
}

func decodePortable(b []byte) (*portable, error) {
	r := bytes.NewReader(b)
	var created, exp int64
	var flag byte
	var bits uint32
	var ulen, dim uint16
	p := &portable{}
	if err := binary.Read(r, binary.BigEndian, &created); err != nil {
		return nil, err
	}
	if err := binary.Read(r, binary.BigEndian, &exp); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, p.ID[:]); err != nil {
		return nil, err
	}
	if err := binary.Read(r, binary.BigEndian, &flag); err != nil {
		return nil, err
	}
	if err := binary.Read(r, binary.BigEndian, &bits); err != nil {
		return nil, err
	}
	if err := binary.Read(r, binary.BigEndian, &ulen); err != nil {
		return nil, err
	}
	user := make([]byte, ulen)
	if _, err := io.ReadFull(r, user); err != nil {
		return nil, err
	}
	if err := binary.Read(r, binary.BigEndian, &dim); err != nil {
		return nil, err
	}
	if r.Len() != 4*int(dim) || dim == 0 {
		return nil, fmt.Errorf("vector of %d bytes for %d dimensions", r.Len(), dim)
	}
	vec := make([]byte, r.Len())
	_, _ = r.Read(vec)
	p.Created, p.UserID, p.Vector = time.UnixMilli(created).UTC(), string(user), bytesVec(vec)
	if exp != 0 {
		p.Expires = time.UnixMilli(exp).UTC()
	}
	if flag == 1 {
		score := math.Float32frombits(bits)
		p.Liveness = &score
	}
	return p, nil
}
