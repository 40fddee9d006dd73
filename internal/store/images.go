package store

import (
	"context"
	"database/sql"
)

const imageCols = `id, integration_id, face_ref, challenge, blob_key, width, height, created_at`

func (c *conn) AddFaceImage(ctx context.Context, img *FaceImage) error {
	if img.ID == "" {
		img.ID = NewID("img_")
	}
	img.CreatedAt = stampOrNow(img.CreatedAt)
	// The composite foreign key (integration_id, face_ref) rejects a face
	// of another integration: classify reports it as ErrNotFound.
	_, err := c.exec(ctx, `INSERT INTO face_images (`+imageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		img.ID, img.IntegrationID, img.FaceRef, img.Challenge, img.BlobKey,
		img.Width, img.Height, c.d.ts(img.CreatedAt))
	return wrap(err, "add image to face %s", img.FaceRef)
}

func (c *conn) GetFaceImage(ctx context.Context, integrationID, id string) (*FaceImage, error) {
	var img FaceImage
	err := c.scanRow(ctx, `SELECT `+imageCols+` FROM face_images WHERE integration_id = ? AND id = ?`,
		[]any{integrationID, id}, imageDest(&img)...)
	if err != nil {
		return nil, wrap(err, "get face image %s", id)
	}
	return &img, nil
}

func (c *conn) ListFaceImages(ctx context.Context, integrationID, faceRef string) ([]FaceImage, error) {
	rows, err := c.query(ctx, `SELECT `+imageCols+` FROM face_images
		WHERE integration_id = ? AND face_ref = ? ORDER BY created_at, id`, integrationID, faceRef)
	if err != nil {
		return nil, wrap(err, "list images of face %s", faceRef)
	}
	out, err := collect(rows, func(r rowScanner) (FaceImage, error) {
		var img FaceImage
		err := r.Scan(imageDest(&img)...)
		return img, err
	})
	return out, wrap(err, "list images of face %s", faceRef)
}

func (c *conn) DeleteFaceImage(ctx context.Context, integrationID, id string) (string, error) {
	// Templates computed from the image go with it (ON DELETE CASCADE);
	// RETURNING gives the blob key in the same statement.
	var key string
	err := c.scanRow(ctx, `DELETE FROM face_images WHERE integration_id = ? AND id = ? RETURNING blob_key`,
		[]any{integrationID, id}, &key)
	return key, wrap(err, "delete face image %s", id)
}

func imageDest(img *FaceImage) []any {
	return []any{&img.ID, &img.IntegrationID, &img.FaceRef, &img.Challenge, &img.BlobKey,
		&img.Width, &img.Height, tsDest{&img.CreatedAt}}
}

const templateCols = `t.id, t.integration_id, t.face_ref, t.image_id, t.model_id, t.sealed, t.created_at`

func (c *conn) AddTemplate(ctx context.Context, t *Template) error {
	if t.ID == "" {
		t.ID = NewID("tpl_")
	}
	t.CreatedAt = stampOrNow(t.CreatedAt)
	// Composite foreign keys keep the template in its face's integration
	// and its image on the same face.
	_, err := c.exec(ctx, `INSERT INTO templates (id, integration_id, face_ref, image_id, model_id, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.IntegrationID, t.FaceRef, nullString(t.ImageID), t.ModelID, t.Sealed, c.d.ts(t.CreatedAt))
	return wrap(err, "add template to face %s", t.FaceRef)
}

func (c *conn) ListFaceTemplates(ctx context.Context, integrationID, faceRef string) ([]Template, error) {
	rows, err := c.query(ctx, `SELECT `+templateCols+` FROM templates t
		WHERE t.integration_id = ? AND t.face_ref = ? ORDER BY t.created_at, t.id`, integrationID, faceRef)
	if err != nil {
		return nil, wrap(err, "list templates of face %s", faceRef)
	}
	out, err := collect(rows, scanTemplate)
	return out, wrap(err, "list templates of face %s", faceRef)
}

func (c *conn) ListTemplates(ctx context.Context, integrationID, modelID string) ([]IndexedTemplate, error) {
	rows, err := c.query(ctx, `SELECT `+templateCols+`, f.face_id, f.enabled
		FROM templates t JOIN faces f ON f.integration_id = t.integration_id AND f.id = t.face_ref
		WHERE t.integration_id = ? AND t.model_id = ? ORDER BY t.face_ref, t.created_at, t.id`,
		integrationID, modelID)
	if err != nil {
		return nil, wrap(err, "list %s templates", modelID)
	}
	out, err := collect(rows, func(r rowScanner) (IndexedTemplate, error) {
		var it IndexedTemplate
		var image sql.NullString
		err := r.Scan(append(templateDest(&it.Template, &image), &it.FaceID, &it.Enabled)...)
		it.ImageID = image.String
		return it, err
	})
	return out, wrap(err, "list %s templates", modelID)
}

func templateDest(t *Template, image *sql.NullString) []any {
	return []any{&t.ID, &t.IntegrationID, &t.FaceRef, image, &t.ModelID, &t.Sealed, tsDest{&t.CreatedAt}}
}

// scanTemplate reads one row of templateCols.
func scanTemplate(r rowScanner) (Template, error) {
	var t Template
	var image sql.NullString
	err := r.Scan(templateDest(&t, &image)...)
	t.ImageID = image.String
	return t, err
}
