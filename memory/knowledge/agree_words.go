package knowledge

import "strings"

// The reuse gate's vocabulary (agree.go). It is small on purpose: a word
// it does not list is kept and compared, so a word nobody thought of
// makes two instructions differ rather than agree.

// gateFiller are words that never change what a shell is asked to do:
// articles, politeness, pronouns for the speaker and the listener,
// auxiliaries. "a" and "an" are handled apart: an "a" that introduces
// nothing is a name ("the folder a").
var gateFiller = set("the", "please", "kindly", "me", "my", "i", "you", "your", "we", "our", "us",
	"can", "could", "would", "will", "shall", "just", "now", "currently", "is", "are", "be", "it",
	"do", "does", "want", "need", "like", "wish", "let's", "lets", "i'd", "i'm")

// leadIn words make the "to" after them filler: "I want to list" asks
// to list.
var leadIn = set("want", "need", "like", "wish")

// gateSynonyms fold only words a shell cannot tell apart. "directory"
// and "folder" meet as words; inside a path they are literals and never
// fold. "print" is not "show": it may mean the printer. Time fields (changed, modified, accessed, created), connectives,
// negations, scope and comparison words have no entry on purpose.
var gateSynonyms = map[string]string{
	"list": "list", "show": "list", "display": "list", "view": "list",
	"folder": "directory", "directory": "directory", "dir": "directory",
	"folders": "directories", "directories": "directories", "dirs": "directories",
	"delete": "delete", "remove": "delete", "erase": "delete",
	"every":   "all",
	"biggest": "largest", "largest": "largest",
	"tiniest": "smallest", "smallest": "smallest",
	"into":  "to",
	"using": "with",
}

// namer words make the token after them a literal: "a file named
// notes" names notes exactly.
var namer = set("named", "called")

// functionWords are what an article never comes before ("the folder a
// and its contents"): connectives, prepositions, pronouns, the namer
// words and the filler.
var functionWords = set("and", "or", "but", "not", "nor", "in", "on", "at", "of", "to", "from", "into",
	"onto", "with", "without", "by", "for", "as", "than", "then", "if", "when", "while", "so",
	"this", "that", "these", "those", "here", "there", "which", "who", "what", "where", "its", "it",
	"is", "are", "be", "a", "an", "the", "named", "called")

// singularOf folds a plural noun after "all": "all files" is "every
// file". Elsewhere number is kept ("delete the file" is not "delete the
// files").
func singularOf(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return strings.TrimSuffix(w, "ies") + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		return strings.TrimSuffix(w, "es")
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return strings.TrimSuffix(w, "s")
	}
	return w
}
