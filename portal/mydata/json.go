package mydata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// WriteJSON writes the export as one JSON document with stable English
// names, in the order the parts and fields were given:
//
//	{"resident_id": 7, "generated_at": "2026-05-04T09:00:00Z",
//	 "profile": [{"name": "…", …}], "bookings": [{…, "messages": […]}], …}
//
// Times are RFC 3339 in UTC, money in cents, a missing value null.
func WriteJSON(w io.Writer, e Export) error {
	var b bytes.Buffer
	b.WriteString("{\n")
	writeKey(&b, "resident_id", 1)
	fmt.Fprintf(&b, "%d,\n", e.ResidentID)
	writeKey(&b, "generated_at", 1)
	if err := writeValue(&b, e.GeneratedAt.UTC()); err != nil {
		return err
	}
	for _, p := range e.Parts {
		b.WriteString(",\n")
		writeKey(&b, p.Name(), 1)
		if err := writeItems(&b, p.Items, 1); err != nil {
			return fmt.Errorf("mydata: %s: %w", p.Name(), err)
		}
	}
	b.WriteString("\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func indent(b *bytes.Buffer, depth int) {
	for range depth {
		b.WriteString("  ")
	}
}

func writeKey(b *bytes.Buffer, name string, depth int) {
	indent(b, depth)
	k, _ := json.Marshal(name) // a string always marshals
	b.Write(k)
	b.WriteString(": ")
}

func writeItems(b *bytes.Buffer, items []Item, depth int) error {
	if len(items) == 0 {
		b.WriteString("[]")
		return nil
	}
	b.WriteString("[\n")
	for i, it := range items {
		if i > 0 {
			b.WriteString(",\n")
		}
		indent(b, depth+1)
		if err := writeItem(b, it, depth+1); err != nil {
			return err
		}
	}
	b.WriteString("\n")
	indent(b, depth)
	b.WriteString("]")
	return nil
}

func writeItem(b *bytes.Buffer, it Item, depth int) error {
	b.WriteString("{\n")
	first := true
	sep := func() {
		if !first {
			b.WriteString(",\n")
		}
		first = false
	}
	for _, f := range it.Fields {
		sep()
		writeKey(b, f.Name, depth+1)
		if err := writeValue(b, f.Value); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	for _, l := range it.Lists {
		sep()
		writeKey(b, l.Name, depth+1)
		if err := writeItems(b, l.Items, depth+1); err != nil {
			return err
		}
	}
	b.WriteString("\n")
	indent(b, depth)
	b.WriteString("}")
	return nil
}

func writeValue(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case time.Time:
		v = x.UTC().Format(time.RFC3339)
	case json.RawMessage:
		var c bytes.Buffer
		if err := json.Compact(&c, x); err != nil {
			return err
		}
		b.Write(c.Bytes())
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(out)
	return nil
}
