package identitygram

import (
	"encoding/json"
	"fmt"

	"github.com/visagehq/visage/internal/faceauth"
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

// Encode turns a domain event into this surface's webhook: its event name
// and exact body. ok is false for events the vendor does not speak.
func Encode(ev faceauth.Event) (event string, body []byte, ok bool, err error) {
	r, isReg := ev.(faceauth.FaceRegistered)
	if !isReg {
		return "", nil, false, nil
	}
	out := imagesStored{Status: EventImagesStored,
		// JavaScript's toISOString form, as in the seed: milliseconds and Z.
		Timestamp: r.At.UTC().Format("2006-01-02T15:04:05.000Z"),
		Result:    registered{ID: r.FaceRef, IntegrationID: r.IntegrationID, FaceID: r.FaceID, Enabled: r.Enabled, Images: []Image{}}}
	for _, im := range r.Images {
		out.Result.Images = append(out.Result.Images, Image{ID: im.ID, Type: types[im.Challenge], URL: imageURL(r.FaceRef, string(im.Challenge), im.ID)})
	}
	body, err = json.Marshal(out)
	if err != nil {
		return "", nil, false, fmt.Errorf("identitygram: encode %s: %w", EventImagesStored, err)
	}
	return EventImagesStored, body, true, nil
}
