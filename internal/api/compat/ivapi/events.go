package ivapi

import (
	"encoding/json"
	"fmt"

	"github.com/visagehq/visage/internal/faceauth"
	"github.com/visagehq/visage/internal/kyc"
)

// completed is the seed's webhook payload.
type completed struct {
	CheckID            string        `json:"check_id"`
	UserIdentifier     string        `json:"user_identifier"`
	VerificationResult webhookResult `json:"verification_result"`
	SelfieVideoURL     *string       `json:"selfie_video_url"`
	IDPhotoURL         *string       `json:"id_photo_url"`
	CompletedAt        string        `json:"completed_at"`
}

type webhookResult struct {
	SessionID              string            `json:"sessionId"`
	Timestamp              string            `json:"timestamp"`
	Status                 string            `json:"status"`
	FaceComparison         webhookComparison `json:"faceComparison"`
	VerificationAssessment webhookAssessment `json:"verificationAssessment"`
}

type webhookComparison struct {
	IsIdentical     bool    `json:"isIdentical"`
	Confidence      float64 `json:"confidence"`
	SimilarityScore int     `json:"similarityScore"`
}

type webhookAssessment struct {
	OverallScore       int      `json:"overallScore"`
	VerificationStatus string   `json:"verificationStatus"`
	ConfidenceLevel    string   `json:"confidenceLevel"`
	RiskFactors        []string `json:"riskFactors"`
}

// Encode turns a domain event into this surface's webhook: the result of
// a case it opened, once processed, and again if a reviewer decides it.
// The check_id is the same each time, so receivers can be idempotent.
func Encode(ev faceauth.Event) (event string, body []byte, ok bool, err error) {
	var c *kyc.Case
	switch e := ev.(type) {
	case kyc.Processed:
		c = &e.Case
	case kyc.Decided:
		if !e.ByReview {
			return "", nil, false, nil // Processed already reported it
		}
		c = &e.Case
	default:
		return "", nil, false, nil
	}
	if c.Source != kyc.SourceIVAPI {
		return "", nil, false, nil
	}
	r := resultOf(c)
	out := completed{CheckID: r.SessionID, UserIdentifier: c.UniqueIdentifier, SelfieVideoURL: orNull(r.videoURL),
		IDPhotoURL: orNull(r.photoURL), CompletedAt: r.completedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		VerificationResult: webhookResult{SessionID: r.SessionID, Timestamp: r.Timestamp, Status: r.Status,
			FaceComparison: webhookComparison{IsIdentical: r.FaceComparison.IsIdentical, Confidence: r.FaceComparison.Confidence,
				SimilarityScore: r.FaceComparison.SimilarityScore},
			VerificationAssessment: webhookAssessment{OverallScore: r.VerificationAssessment.OverallScore,
				VerificationStatus: r.VerificationAssessment.VerificationStatus, ConfidenceLevel: r.VerificationAssessment.ConfidenceLevel,
				RiskFactors: r.VerificationAssessment.RiskFactors}}}
	if body, err = json.Marshal(out); err != nil {
		return "", nil, false, fmt.Errorf("ivapi: encode webhook: %w", err)
	}
	return EventCompleted, body, true, nil
}
