package identitygram

import (
	"encoding/json"
	"fmt"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/kyc"
)

// UserAgent of this surface's webhooks: the vendor's document names none.
const UserAgent = "Visage-IdentityGram/1.0"

// EventImagesStored is the vendor's event name for a registration.
const EventImagesStored = "images_stored"

// imagesStored is the webhook body of the seed's "Webhook Payload Example".
type imagesStored struct {
	Result    registered `json:"result"`
	Status    string     `json:"status"`
	Timestamp string     `json:"timestamp"`
}

type registered struct {
	ID            string  `json:"_id"`
	IntegrationID string  `json:"integrationId"`
	FaceID        string  `json:"faceId"`
	Images        []Image `json:"images"`
	Enabled       bool    `json:"enabled"`
}

// Message is one webhook this surface sends for an event.
type Message struct {
	Event string
	Body  []byte
}

// Encode turns a domain event into this surface's webhooks: images_stored
// for a face registration; status for every change of a verification,
// decision when it is approved or declined, proof_of_address for the
// decision on a proof of address. Events the vendor does not speak give
// none.
func Encode(ev faceauth.Event) ([]Message, error) {
	switch e := ev.(type) {
	case faceauth.FaceRegistered:
		body, err := imagesStoredBody(e)
		return one(EventImagesStored, body, err)
	case kyc.StatusChanged:
		body, err := json.Marshal(verificationOf(&e.Case))
		return one(EventStatus, body, err)
	case kyc.Decided:
		body, err := json.Marshal(verificationOf(&e.Case))
		if err != nil {
			return nil, fmt.Errorf("identitygram: encode decision: %w", err)
		}
		out := []Message{{Event: EventDecision, Body: body}}
		if e.Case.DocumentType == kyc.DocProofAddress {
			out = append(out, Message{Event: EventProofOfAddress, Body: body})
		}
		return out, nil
	}
	return nil, nil
}

func one(event string, body []byte, err error) ([]Message, error) {
	if err != nil {
		return nil, fmt.Errorf("identitygram: encode %s: %w", event, err)
	}
	return []Message{{Event: event, Body: body}}, nil
}

func imagesStoredBody(r faceauth.FaceRegistered) ([]byte, error) {
	out := imagesStored{Status: EventImagesStored,
		// JavaScript's toISOString form, as in the seed: milliseconds and Z.
		Timestamp: r.At.UTC().Format("2006-01-02T15:04:05.000Z"),
		Result:    registered{ID: r.FaceRef, IntegrationID: r.IntegrationID, FaceID: r.FaceID, Enabled: r.Enabled, Images: []Image{}}}
	for _, im := range r.Images {
		out.Result.Images = append(out.Result.Images, Image{ID: im.ID, Type: types[im.Challenge], URL: imageURL(r.FaceRef, string(im.Challenge), im.ID)})
	}
	return json.Marshal(out)
}
