package exchange

import (
	"strconv"
	"strings"
	"time"
)

// Block is one topic of an application as read back: on the summary page,
// the sent application, the PDF copy and the package.
type Block struct {
	Step  string // the form step it comes from ("" for the advisor's part)
	Title string
	Rows  []Row
}

// Row is one answer, translated.
type Row struct {
	Label, Value string
}

// translate is the frontend's translation in one language; args are
// placeholder name and value pairs.
type translate func(key string, args ...any) string

// tr returns the translation into lang.
func (s *Service) tr(lang string) translate { return s.fe.Translator(lang).T }

// blocks reads the answers back in lang, every value in words.
func blocks(t translate, ans Answers) []Block {
	list := func(prefix string, keys []string) string {
		words := make([]string, len(keys))
		for i, k := range keys {
			words[i] = t(prefix + k)
		}
		return strings.Join(words, ", ")
	}
	none := t("exchange.summary.none")
	or := func(v string) string {
		if v == "" {
			return none
		}
		return v
	}
	h, hh, r, w := ans.Home, ans.Household, ans.Reasons, ans.Wishes
	landlord := ""
	if h.Landlord != "" {
		landlord = t("exchange.landlord." + h.Landlord)
		if h.LandlordName != "" {
			landlord += ": " + h.LandlordName
		}
	}
	ages := make([]string, len(hh.ChildrenAges))
	for i, n := range hh.ChildrenAges {
		ages[i] = strconv.Itoa(n)
	}
	out := []Block{
		{Step: "home", Title: t("exchange.step.home"), Rows: []Row{
			{t("exchange.field.address"), or(h.Address)},
			{t("exchange.field.postal_code"), or(h.PostalCode)},
			{t("exchange.field.landlord"), or(landlord)},
			{t("exchange.field.rooms"), or(intText(h.Rooms))},
			{t("exchange.field.area"), or(unit(intText(h.AreaM2), " m²"))},
			{t("exchange.field.rent"), or(unit(euros(h.RentCents), " €"))},
			{t("exchange.field.tenancy_start"), or(day(h.TenancyStart))},
		}},
		{Step: "household", Title: t("exchange.step.household"), Rows: []Row{
			{t("exchange.field.adults"), or(intText(hh.Adults))},
			{t("exchange.field.children_ages"), or(strings.Join(ages, ", "))},
			{t("exchange.field.needs"), or(list("exchange.need.", hh.Needs))},
			{t("exchange.field.needs_text"), or(hh.NeedsText)},
		}},
	}
	reasons := Block{Step: "reasons", Title: t("exchange.step.reasons")}
	if len(r.Chosen) == 0 {
		reasons.Rows = append(reasons.Rows, Row{t("exchange.field.reasons"), none})
	}
	for _, k := range r.Chosen {
		label := t("exchange.reason." + k)
		if k == "crisis" && len(r.Crisis) > 0 {
			label += " (" + list("exchange.crisis.", r.Crisis) + ")"
		}
		reasons.Rows = append(reasons.Rows, Row{label, or(r.Explain[k])})
	}
	out = append(out, reasons,
		Block{Step: "wishes", Title: t("exchange.step.wishes"), Rows: []Row{
			{t("exchange.field.areas"), or(w.Areas)},
			{t("exchange.field.wish_rooms"), or(intText(w.Rooms))},
			{t("exchange.field.max_rent"), or(unit(euros(w.MaxRentCents), " €"))},
			{t("exchange.field.lift"), yesNo(t, w.Lift)},
			{t("exchange.field.max_floor"), or(intText(w.MaxFloor))},
			{t("exchange.field.earliest_move"), or(day(w.EarliestMove))},
		}},
		Block{Step: "consent", Title: t("exchange.step.consent"), Rows: []Row{
			{t("exchange.field.wants_help"), or(wordOf(t, "exchange.answer.", ans.WantsHelp))},
			{t("exchange.field.consent"), yesNo(t, ans.Consent)},
		}},
	)
	return out
}

// justificationBlock reads the advisor's part back.
func justificationBlock(t translate, special *bool, j Justification) Block {
	b := Block{Title: t("exchange.desk.assessment")}
	if special == nil {
		b.Rows = append(b.Rows, Row{t("exchange.field.special_support"), t("exchange.summary.not_assessed")})
		return b
	}
	b.Rows = append(b.Rows, Row{t("exchange.field.special_support"), yesNo(t, *special)})
	if !*special {
		return b
	}
	crit := make([]string, len(j.Criteria))
	for i, c := range j.Criteria {
		crit[i] = t("exchange.criterion." + c)
	}
	b.Rows = append(b.Rows,
		Row{t("exchange.field.criteria"), strings.Join(crit, ", ")},
		Row{t("exchange.field.why"), j.Why},
		Row{t("exchange.field.statement"), j.Statement},
		Row{t("exchange.field.urgency"), wordOf(t, "exchange.urgency.", j.Urgency)},
	)
	return b
}

func wordOf(t translate, prefix, v string) string {
	if v == "" {
		return ""
	}
	return t(prefix + v)
}

func yesNo(t translate, v bool) string {
	if v {
		return t("exchange.answer.yes")
	}
	return t("exchange.answer.no")
}

func unit(v, u string) string {
	if v == "" {
		return ""
	}
	return v + u
}

// day shows YYYY-MM-DD as Finnish-style d.m.yyyy.
func day(v string) string {
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		return v
	}
	return d.Format("2.1.2006")
}
