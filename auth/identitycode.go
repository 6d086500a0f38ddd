package auth

import (
	"strconv"
	"strings"
	"time"
)

// The Finnish personal identity code (henkilötunnus) is DDMMYYCNNNX: the
// birth date, a century sign, an individual number and a check character,
// the remainder of the nine digits DDMMYYNNN divided by 31 looked up in
// checkChars. Individual numbers 900–999 are temporary codes, valid too.
const checkChars = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// centuries are the century signs: "+" for the 1800s, "-" and Y–U for the
// 1900s, A–F for the 2000s.
var centuries = map[byte]int{
	'+': 1800,
	'-': 1900, 'Y': 1900, 'X': 1900, 'W': 1900, 'V': 1900, 'U': 1900,
	'A': 2000, 'B': 2000, 'C': 2000, 'D': 2000, 'E': 2000, 'F': 2000,
}

// NormalizeIdentityCode returns code trimmed and upper-cased, and whether
// it is a valid personal identity code: a real date, a known century sign,
// an individual number from 002 and the right check character.
func NormalizeIdentityCode(code string) (string, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != 11 {
		return code, false
	}
	century, ok := centuries[code[6]]
	if !ok {
		return code, false
	}
	digits := code[:6] + code[7:10]
	n, err := strconv.Atoi(digits)
	if err != nil || strings.ContainsAny(digits, "+-") {
		return code, false
	}
	day, month, year := atoi2(code[0:2]), atoi2(code[2:4]), century+atoi2(code[4:6])
	born := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if born.Day() != day || int(born.Month()) != month || born.Year() != year {
		return code, false // 310290 is not a date
	}
	if atoi2(code[7:9])*10+int(code[9]-'0') < 2 {
		return code, false // 000 and 001 are not given
	}
	return code, checkChars[n%31] == code[10]
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// MaskIdentityCode shows an identity code as staff see it: the birth date
// and century sign, the rest hidden ("010190-****").
func MaskIdentityCode(code string) string {
	if len(code) < 7 {
		return ""
	}
	return code[:7] + "****"
}
