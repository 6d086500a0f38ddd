package files

import "github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"

// Limits are the attachment limits of one owner (an application, a
// message): the size of one file, how many files, and their total size.
type Limits struct {
	MaxFileBytes  int64
	MaxFiles      int
	MaxTotalBytes int64
}

// Defaults fills each zero (or negative) limit from d.
func (l *Limits) Defaults(d Limits) {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
}

// Next is the byte cap of one more file for an owner that has count files
// of used bytes: the file limit, or less when the total is near. Past the
// count or the total it is refused (Conflict / TooLarge).
func (l Limits) Next(count int, used int64) (int64, error) {
	if count >= l.MaxFiles {
		return 0, problem.E(problem.Conflict, "files.error.too_many")
	}
	capBytes := min(l.MaxFileBytes, l.MaxTotalBytes-used)
	if capBytes <= 0 {
		return 0, problem.E(problem.TooLarge, "files.error.total_too_large")
	}
	return capBytes, nil
}

// Explain turns Save's "too large" for a file capped by Next below the
// file limit into what it was: the total would have been exceeded.
func (l Limits) Explain(err error, capBytes int64) error {
	if problem.Is(err, problem.TooLarge) && capBytes < l.MaxFileBytes {
		return problem.Wrap(problem.TooLarge, "files.error.total_too_large", err)
	}
	return err
}
