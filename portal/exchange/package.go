package exchange

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
)

// Package is what the housing office receives: the application, the
// advisor's justifications and the attachments. Version changes when a
// field changes meaning.
type Package struct {
	Version        int            `json:"version"`
	Reference      string         `json:"reference"`
	SentAt         *time.Time     `json:"sent_at"`
	Status         Status         `json:"status"`
	Resident       PackagePerson  `json:"resident"`
	Advisor        *PackagePerson `json:"advisor,omitempty"`
	Answers        Answers        `json:"answers"`
	SpecialSupport *bool          `json:"special_support"`
	Justification  *Justification `json:"justification,omitempty"`
	Attachments    []PackageFile  `json:"attachments"`
}

// PackagePerson names a person in the package.
type PackagePerson struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// PackageFile is an attachment; Content (base64) is filled in only for
// the webhook, which carries the files themselves.
type PackageFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Content     string `json:"content_base64,omitempty"`
}

// Reference is the application's reference shown to people: AV-<id>.
func Reference(id int64) string { return "AV-" + strconv.FormatInt(id, 10) }

// buildPackage assembles a's package; withContent inlines the files.
func (s *Service) buildPackage(ctx context.Context, a *Application, withContent bool) (*Package, []files.File, error) {
	res, err := s.users.ByID(ctx, a.ResidentID)
	if err != nil {
		return nil, nil, fmt.Errorf("exchange: resident of %d: %w", a.ID, err)
	}
	p := &Package{
		Version: 1, Reference: Reference(a.ID), SentAt: a.SentAt, Status: a.Status,
		Resident:       PackagePerson{Name: res.Name, Email: res.Email, Phone: res.Phone},
		Answers:        a.Answers(),
		SpecialSupport: a.SpecialSupport,
		Attachments:    []PackageFile{},
	}
	if a.SpecialSupport != nil && *a.SpecialSupport {
		j := a.Justification()
		p.Justification = &j
	}
	if a.AdvisorID != nil {
		adv, err := s.users.ByID(ctx, *a.AdvisorID)
		if err == nil {
			p.Advisor = &PackagePerson{Name: adv.Name, Email: adv.Email}
		}
	}
	list, err := s.files.List(ctx, a.Owner())
	if err != nil {
		return nil, nil, err
	}
	for _, f := range list {
		pf := PackageFile{Name: f.Name, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}
		if withContent {
			b, err := s.readFile(ctx, &f)
			if err != nil {
				return nil, nil, err
			}
			pf.Content = base64.StdEncoding.EncodeToString(b)
		}
		p.Attachments = append(p.Attachments, pf)
	}
	return p, list, nil
}

func (s *Service) readFile(ctx context.Context, f *files.File) ([]byte, error) {
	rc, err := s.files.Open(ctx, f)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }() // read-only
	b, err := io.ReadAll(io.LimitReader(rc, f.Size+1))
	if err != nil {
		return nil, fmt.Errorf("exchange: read attachment %d: %w", f.ID, err)
	}
	return b, nil
}

// PackageJSON writes the package as JSON for staff, logging the access.
func (s *Service) PackageJSON(ctx context.Context, id int64, w io.Writer) error {
	a, err := s.packageAccess(ctx, id, "json")
	if err != nil {
		return err
	}
	p, _, err := s.buildPackage(ctx, a, false)
	if err != nil {
		return err
	}
	b, err := jsonIndent(p)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// PackagePDF writes the package as one PDF for staff, the attachments
// embedded, logging the access.
func (s *Service) PackagePDF(ctx context.Context, id int64, lang string, w io.Writer) error {
	a, err := s.packageAccess(ctx, id, "pdf")
	if err != nil {
		return err
	}
	return s.writeApplicationPDF(ctx, a, lang, true, w)
}

func (s *Service) packageAccess(ctx context.Context, id int64, kind string) (*Application, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayHandle(ctx, a); err != nil {
		return nil, err
	}
	if err := s.audit.RecordTx(ctx, s.db, a.ResidentID, audit.ExchangePackage, resource(a.ID)+"/package."+kind, audit.ReasonExchange); err != nil {
		return nil, err
	}
	return a, nil
}

// CopyPDF writes the resident's copy of what they sent.
func (s *Service) CopyPDF(ctx context.Context, residentID, id int64, lang string, w io.Writer) error {
	a, err := s.Own(ctx, residentID, id)
	if err != nil {
		return err
	}
	if !a.Sent() {
		return errNotFound
	}
	return s.writeApplicationPDF(ctx, a, lang, false, w)
}

// writeApplicationPDF renders a in lang: the resident's copy, or with
// forward the package (justifications, files embedded).
func (s *Service) writeApplicationPDF(ctx context.Context, a *Application, lang string, forward bool, w io.Writer) error {
	t := s.tr(lang)
	doc := pdfDoc{
		Title:    t("exchange.title"),
		Footer:   t("exchange.pdf.footer", "Ref", Reference(a.ID)),
		FileHead: t("exchange.attachments.title"),
		Blocks:   blocks(t, a.Answers()),
	}
	doc.Lines = append(doc.Lines, t("exchange.pdf.reference", "Ref", Reference(a.ID)))
	if a.SentAt != nil {
		doc.Lines = append(doc.Lines, t("exchange.pdf.sent", "When", s.fe.DateTime(lang, *a.SentAt)))
	}
	doc.Lines = append(doc.Lines, t("exchange.pdf.status", "Status", t("exchange.status."+string(a.Status))))
	res, err := s.users.ByID(ctx, a.ResidentID)
	if err != nil {
		return fmt.Errorf("exchange: resident of %d: %w", a.ID, err)
	}
	doc.Lines = append(doc.Lines, t("exchange.pdf.applicant", "Name", res.Name))
	if forward {
		doc.Blocks = append(doc.Blocks, justificationBlock(t, a.SpecialSupport, a.Justification()))
	}
	list, err := s.files.List(ctx, a.Owner())
	if err != nil {
		return err
	}
	for _, f := range list {
		doc.Files = append(doc.Files, Row{Label: f.Name, Value: sizeText(f.Size)})
		if forward {
			b, err := s.readFile(ctx, &f)
			if err != nil {
				return err
			}
			doc.Embed = append(doc.Embed, pdfFile{Name: f.Name, ContentType: f.ContentType, Data: b})
		}
	}
	return writePDF(w, doc)
}

// sizeText shows a byte count as people read it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt((n+512)>>10, 10) + " kB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// staffName is the name of the actor, for the event list.
func (s *Service) names(ctx context.Context, ids []int64) (map[int64]*auth.User, error) {
	return s.users.ByIDs(ctx, ids)
}
