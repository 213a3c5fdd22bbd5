package knowledge

import "testing"

// TestAgreeKeepsWhatTheInstructionNames: each pair is two different
// requests in nearly the same words, one per way the gate used to fold
// them together (literals compared after folding, content words folded,
// scope dropped). Reusing one's command for the other would run the
// wrong command without the model; the gate must refuse and say why.
func TestAgreeKeepsWhatTheInstructionNames(t *testing.T) {
	for _, c := range []struct{ name, a, b string }{
		// Each of these agreed under the gate that folded before
		// comparing (case, glob and regex characters, path prefixes,
		// quotes, order of names, time fields, connectives, an "a" that
		// is a name, paths, extensions, scope).
		{"literal case", "delete a.txt", "delete A.txt"},
		{"extension case", "convert every .JPG image to png", "convert every .jpg image to png"},
		{"glob versus words", "delete *.* files here", "delete the files here"},
		{"glob star versus question marks", "remove file* from the build folder", "remove file?? from the build folder"},
		{"glob versus regex", "grep for orm* in the sources", "grep for orm.* in the sources"},
		{"star versus dot star", "match lines with * in notes.txt", "match lines with .* in notes.txt"},
		{"anchored versus unanchored", "print lines matching ^error in app.log", "print lines matching error in app.log"},
		{"home prefix", "delete the temp folder", "delete the ~/temp folder"},
		{"relative versus absolute", "run ./x", "run /x"},
		{"trailing slash", "rsync src/ to the backup host", "rsync src to the backup host"},
		{"backticks versus a word", "print `date`", "print date"},
		{"variable versus a name", "print $HOME", "print home"},
		{"quoted versus a word", `find files containing "todo"`, "find files containing todo"},
		{"argument order of names", "rename draft to final", "rename final to draft"},
		{"changed versus modified", "list files changed in the last day", "list files modified in the last day"},
		{"and versus or", "find files owned by root and writable by others", "find files owned by root or writable by others"},
		{"a as a folder name", "remove the folder a and its contents", "remove the folder and its contents"},
		{"directory inside a path", "list files in ~/directory", "list files in ~/folder"},
		{"gz versus zip", "compress the reports to .gz", "compress the reports to zip"},
		{"here versus anywhere", "find log files here", "find log files"},
		{"here with a name", "find files named foo here", "find files named foo"},
		{"name case", "make a directory named build", "make a directory named Build"},
		// These the old gate refused too; they stay refused.
		{"argument order of literals", "copy a.txt to b.txt", "copy b.txt to a.txt"},
		{"modified versus accessed", "find files modified today", "find files accessed today"},
		{"changed versus accessed", "find files changed in the last hour", "find files accessed in the last hour"},
		{"created versus modified", "show files created this week", "show files modified this week"},
		{"negation", "list files not owned by root", "list files owned by root"},
		{"without", "archive the logs without compression", "archive the logs with compression"},
		{"a as a file name", "create a file named a", "create a file"},
		{"gzipped versus zipped", "create a gzipped archive of the logs", "create a zipped archive of the logs"},
		{"current directory versus recursively", "count lines of python files in the current directory", "count lines of python files recursively"},
		{"in versus under", "count the files in this directory", "count the files under this directory"},
		{"top level versus any depth", "list empty folders at the top level", "list empty folders at any depth"},
		{"only", "show only hidden files", "show hidden files"},
		{"size units", "find files larger than 10M", "find files larger than 10 MB"},
		{"more versus less", "find files with more than 100 lines", "find files with less than 100 lines"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, ab := range [][2]string{{c.a, c.b}, {c.b, c.a}} {
				ok, why := agree(ab[0], ab[1])
				if ok {
					t.Fatalf("agree(%q, %q) = true: one would replay the other's command", ab[0], ab[1])
				}
				if why == "" {
					t.Fatalf("agree(%q, %q) refused without saying why", ab[0], ab[1])
				}
			}
		})
	}
}

// TestAgreeFoldsWhatAShellCannotTellApart: the same request in other
// filler, punctuation or synonyms a shell treats alike still agrees.
func TestAgreeFoldsWhatAShellCannotTellApart(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"show the disk usage", "display the disk usage"},
		{"list the files in this directory", "show the files in this folder"},
		{"delete the temporary files", "remove the temporary files"},
		{"Please list all running processes.", "list every running process"},
		{"I want to see the kernel version", "see the kernel version"},
		{"delete a.txt", "Delete a.txt."},
		{"create a new user", "create a new user"},
		{"don't follow symlinks when copying", "do not follow symlinks when copying"},
		{"compress (gzip) every log older than 7 days", "compress (gzip) all logs older than 7 days"},
	} {
		if ok, why := agree(c.a, c.b); !ok {
			t.Errorf("agree(%q, %q) = false (%s); the two ask the same of a shell", c.a, c.b, why)
		}
	}
}

// TestAgreeSaysWhatDiffers: the reason names the differing terms, so an
// operator reading memory_hit or amf memory match sees why.
func TestAgreeSaysWhatDiffers(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"delete a.txt", "delete A.txt", "the instructions name different literals (asked: `a.txt`; learned: `A.txt`); literals must match byte for byte"},
		{"copy a.txt to b.txt", "copy b.txt to a.txt", "the instructions name the same literals in another order (asked: `a.txt` `b.txt`; learned: `b.txt` `a.txt`)"},
		{"list files changed today", "list files modified today", "the instructions differ in what they say (asked: changed; learned: modified)"},
		{"rename draft to final", "rename final to draft", "the instructions say the same words in another order (asked: rename draft to final; learned: rename final to draft)"},
		{"list files and files", "list files and files and files", "the instructions differ in what they say (asked: list files and files; learned: list files and files and files)"},
	} {
		if _, why := agree(c.a, c.b); why != c.want {
			t.Errorf("agree(%q, %q) says\n%s\nwant\n%s", c.a, c.b, why, c.want)
		}
	}
}
