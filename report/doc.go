// Package report renders a compare.Result for people and for machines:
// text for a terminal, Markdown, one self-contained HTML file, our own JSON
// (schema reproof/diff/v1, see docs/diff-json.md) and diffoscope's JSON
// structure, so that tools reading diffoscope output can read ours.
//
// Differences are grouped the same way in every human format (Summarize):
// "12,802 entries in a different order" is one line, "500 entries differ
// only in mtime" is one line with a sample, and every content difference is
// listed on its own with its diff. The JSON formats list every difference.
//
// The package is strict about two things. Reports are byte-stable: the same
// Result gives the same bytes whatever the map order, the time zone, the
// locale or the clock; nothing here reads the time. And every string that
// came from the compared inputs (entry names, link targets, owner names,
// diff lines) is treated as hostile: control characters are shown escaped
// in text and Markdown so an archive cannot drive the terminal, and HTML
// output escapes everything and runs no script.
package report
