// Package demo holds the demonstration data the development setup starts
// with: the four regions of the seed material with their service points
// and postal codes, its fifteen advisors, an admin and a few residents.
// Names, addresses and phone numbers are invented. Seeding is idempotent.
package demo

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Person is a demo identity: offered by the development provider's picker
// and present in the database before its first login, so that advisors can
// be booked and residents found.
type Person struct {
	Subject, GivenName, FamilyName, Email string
	Role                                  auth.Role
	Region                                string // region code, staff only
	PostalCode                            string
	Title                                 string
	// IdentityCode is a resident's personal identity code, from the
	// temporary range 900–999 so that it names no real person.
	IdentityCode string
	// NotSeeded is someone the provider knows and the portal not yet: a
	// person an advisor records before their first login.
	NotSeeded bool
}

// Name is the person's full name.
func (p Person) Name() string { return p.GivenName + " " + p.FamilyName }

type regionSeed struct {
	code, fi, sv, en, phone string
	points                  []regions.ServicePoint
	postalCodes             []string
}

func codes(from, to, step int) []string {
	var out []string
	for c := from; c <= to; c += step {
		out = append(out, fmt.Sprintf("%05d", c))
	}
	return out
}

// The Helsinki postal areas, grouped by the region that serves them.
var regionSeeds = []regionSeed{
	{"west", "Länsi", "Väster", "West", "09 310 10001",
		[]regions.ServicePoint{
			{Name: "Heka Länsi, asiakaspalvelu", NameSV: "Heka Väster, kundtjänst", NameEN: "Heka West, customer service", StreetAddress: "Kauppalantie 1", PostalCode: "00320", City: "Helsinki"},
			{Name: "Länsi-Helsingin palvelupiste", NameSV: "Västra Helsingfors servicepunkt", NameEN: "West Helsinki service point", StreetAddress: "Kaupintie 2", PostalCode: "00440", City: "Helsinki"},
		},
		append(append(codes(200, 210, 10), codes(280, 280, 10)...), codes(320, 440, 10)...)},
	{"north", "Pohjoinen", "Norr", "North", "09 310 10002",
		[]regions.ServicePoint{
			{Name: "Heka Pohjoinen, asiakaspalvelu", NameSV: "Heka Norr, kundtjänst", NameEN: "Heka North, customer service", StreetAddress: "Malminkaari 3", PostalCode: "00700", City: "Helsinki"},
			{Name: "Malmin palvelupiste", NameSV: "Malms servicepunkt", NameEN: "Malmi service point", StreetAddress: "Ala-Malmin tori 4", PostalCode: "00700", City: "Helsinki"},
		},
		append(codes(600, 690, 10), codes(700, 790, 10)...)},
	{"south", "Etelä", "Söder", "South", "09 310 10003",
		[]regions.ServicePoint{
			{Name: "Heka Etelä, asiakaspalvelu", NameSV: "Heka Söder, kundtjänst", NameEN: "Heka South, customer service", StreetAddress: "Hämeentie 5", PostalCode: "00530", City: "Helsinki"},
			{Name: "Kallion palvelupiste", NameSV: "Berghälls servicepunkt", NameEN: "Kallio service point", StreetAddress: "Toinen linja 6", PostalCode: "00530", City: "Helsinki"},
		},
		append(append(codes(100, 190, 10), codes(220, 270, 10)...), codes(500, 580, 10)...)},
	{"east", "Itä", "Öster", "East", "09 310 10004",
		[]regions.ServicePoint{
			{Name: "Heka Itä, asiakaspalvelu", NameSV: "Heka Öster, kundtjänst", NameEN: "Heka East, customer service", StreetAddress: "Itäkatu 7", PostalCode: "00930", City: "Helsinki"},
			{Name: "Itäkeskuksen palvelupiste", NameSV: "Östra centrums servicepunkt", NameEN: "Itäkeskus service point", StreetAddress: "Turunlinnantie 8", PostalCode: "00930", City: "Helsinki"},
			{Name: "Vuosaaren palvelupiste", NameSV: "Nordsjö servicepunkt", NameEN: "Vuosaari service point", StreetAddress: "Vuotie 9", PostalCode: "00980", City: "Helsinki"},
		},
		codes(800, 990, 10)},
}

// advisorNames per region: West 2, North 4, South 3, East 6, as in the seed.
var advisorNames = map[string][][2]string{
	"west":  {{"Anna", "Lahtinen"}, {"Mikko", "Virtanen"}},
	"north": {{"Sari", "Koskinen"}, {"Jari", "Heikkinen"}, {"Leena", "Mäkelä"}, {"Timo", "Nieminen"}},
	"south": {{"Katja", "Laine"}, {"Pekka", "Hämäläinen"}, {"Riikka", "Salo"}},
	"east":  {{"Minna", "Järvinen"}, {"Juha", "Lehtonen"}, {"Tiina", "Saarinen"}, {"Antti", "Heinonen"}, {"Hanna", "Karjalainen"}, {"Ville", "Niemi"}},
}

// People returns every demo identity in a stable order.
func People() []Person {
	out := []Person{
		{Subject: "demo-resident-aino", GivenName: "Aino", FamilyName: "Asukas", Email: "aino.asukas@example.invalid", Role: auth.RoleResident, PostalCode: "00940", IdentityCode: "150382-901A"},
		{Subject: "demo-resident-matti", GivenName: "Matti", FamilyName: "Meikäläinen", Email: "matti.meikalainen@example.invalid", Role: auth.RoleResident, PostalCode: "00510", IdentityCode: "040571-9010"},
		{Subject: "demo-resident-sofia", GivenName: "Sofia", FamilyName: "Lindholm", Email: "sofia.lindholm@example.invalid", Role: auth.RoleResident, PostalCode: "00330", IdentityCode: "220994-901S"},
		{Subject: "demo-resident-veikko", GivenName: "Veikko", FamilyName: "Ilmanen", Email: "veikko.ilmanen@example.invalid", Role: auth.RoleResident, PostalCode: "00920", IdentityCode: "110758-901S", NotSeeded: true},
	}
	for _, r := range regionSeeds {
		for i, n := range advisorNames[r.code] {
			out = append(out, Person{
				Subject:   fmt.Sprintf("demo-advisor-%s-%d", r.code, i+1),
				GivenName: n[0], FamilyName: n[1],
				Email:  fmt.Sprintf("advisor.%s.%d@example.invalid", r.code, i+1),
				Role:   auth.RoleAdvisor,
				Region: r.code,
				Title:  "Asumisneuvoja",
			})
		}
	}
	out = append(out,
		Person{Subject: "demo-mentor", GivenName: "Amina", FamilyName: "Yusuf", Email: "mentor@example.invalid", Role: auth.RoleAdvisor, Region: "east", Title: "Asumiskummi"},
		Person{Subject: "demo-nurse", GivenName: "Outi", FamilyName: "Rantanen", Email: "nurse@example.invalid", Role: auth.RoleAdvisor, Region: "south", Title: "Psykiatrinen sairaanhoitaja"},
		Person{Subject: "demo-admin", GivenName: "Pirjo", FamilyName: "Pääkäyttäjä", Email: "admin@example.invalid", Role: auth.RoleAdmin, Region: "south", Title: "Esihenkilö"},
	)
	return out
}

// Seed writes the regions, service points, postal codes and the demo
// people (under issuer) unless they are already there.
func Seed(ctx context.Context, db *gorm.DB, issuer string) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		regionIDs := map[string]int64{}
		for i, rs := range regionSeeds {
			r := regions.Region{Code: rs.code, NameFI: rs.fi, NameSV: rs.sv, NameEN: rs.en, Phone: rs.phone, SortOrder: i,
				PhoneHoursFI: "ma–pe 9–15", PhoneHoursSV: "mån–fre 9–15", PhoneHoursEN: "Mon–Fri 9–15"}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true, Columns: []clause.Column{{Name: "code"}}}).Create(&r).Error; err != nil {
				return fmt.Errorf("demo: region %s: %w", rs.code, err)
			}
			if err := tx.Where("code = ?", rs.code).First(&r).Error; err != nil {
				return fmt.Errorf("demo: region %s: %w", rs.code, err)
			}
			regionIDs[rs.code] = r.ID
			var n int64
			if err := tx.Model(&regions.ServicePoint{}).Where("region_id = ?", r.ID).Count(&n).Error; err != nil {
				return fmt.Errorf("demo: service points: %w", err)
			}
			if n == 0 {
				for _, p := range rs.points {
					p.RegionID, p.Active, p.Phone = r.ID, true, rs.phone
					if err := tx.Create(&p).Error; err != nil {
						return fmt.Errorf("demo: service point: %w", err)
					}
				}
			}
			for _, pc := range rs.postalCodes {
				err := tx.Exec(`INSERT INTO postal_code_regions (postal_code, region_id) VALUES (?, ?)
					ON CONFLICT (postal_code) DO NOTHING`, pc, r.ID).Error
				if err != nil {
					return fmt.Errorf("demo: postal code: %w", err)
				}
			}
		}
		now := time.Now().UTC()
		for _, p := range People() {
			if p.NotSeeded {
				continue
			}
			u := auth.User{
				Issuer: issuer, Subject: p.Subject, Role: p.Role, Name: p.Name(),
				GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.Email,
				PostalCode: p.PostalCode, IdentityCode: p.IdentityCode, Title: p.Title, PreferredLang: "fi",
				CreatedAt: now, UpdatedAt: now,
			}
			if id, ok := regionIDs[p.Region]; ok {
				u.RegionID = &id
			}
			err := tx.Clauses(clause.OnConflict{DoNothing: true, Columns: []clause.Column{{Name: "issuer"}, {Name: "subject"}}}).Create(&u).Error
			if err != nil {
				return fmt.Errorf("demo: user: %w", err)
			}
		}
		return nil
	})
}
