package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/reproof/reproof/rebuild"
)

// A Variation is one way a varied build differs from the reference, as a
// user names it (--vary). The table Variations is the whole list; each
// entry says what it changes and, given what the host, the runtime and
// the image allow, either how it is applied or why it is skipped.
type Variation struct {
	// Name is what --vary takes.
	Name string
	// Changes says in a few words what the build sees differently.
	Changes string
	// apply changes o (a copy of the reference build's options, with a
	// non-nil Variation) for this variation and returns how, in one line;
	// or it returns why the variation cannot be applied here (skip), and
	// leaves o alone.
	apply func(h *Host, o *rebuild.Options) (how, skip string)
}

// Host is what decides whether and how variations apply: facts about this
// machine, the runtime and the image, gathered once by Check.
type Host struct {
	// Runtime is the runtime every build runs with: docker, podman or runc.
	Runtime string
	// Root: reproof runs as root (needed to build as another user).
	Root bool
	// User is who the reference build runs as.
	User rebuild.User
	// CPUs is the number of CPUs a build may use by default.
	CPUs int
	// Disorderfs is nil when the file-order variation can be applied, or
	// why not; Personality the same for kernel and aslr.
	Disorderfs  error
	Personality error
	// FakeTime is the path of libfaketime.so.1 in the image, "" if it has
	// none.
	FakeTime string
}

// The values the variations set, and the reference's, for the docs and
// the reports.
const (
	variedWorkDir    = "/build/reproof-check/varied-path/src"
	variedUmask      = "002"
	variedTZ         = "GMT-14"
	variedLocale     = "et_EE.UTF-8"
	variedHostname   = "reproof-varied"
	variedDomainname = "varied.example"
	variedHome       = "/home/reproof-varied"
	variedEnvKey     = "REPROOF_CHECK_UNRELATED"
	variedEnv        = variedEnvKey + "=an unrelated variable"
	fakeTimeOffset   = "+15y"
	variedUIDOffset  = 1000
)

// fakeTimeLibs are where an image's libfaketime is looked for (Debian and
// Fedora layouts).
var fakeTimeLibs = []string{
	"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
	"/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
	"/usr/lib/faketime/libfaketime.so.1",
	"/usr/lib64/faketime/libfaketime.so.1",
}

// Variations lists every variation, in the order they are reported.
var Variations = []Variation{
	{Name: "build-path", Changes: "the path of the checkout in the container",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.WorkDir = variedWorkDir
			return fmt.Sprintf("checkout at %s instead of %s", variedWorkDir, rebuild.DefaultWorkDir), ""
		}},
	{Name: "user", Changes: "the UID and GID the build runs as",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			if !h.Root {
				return "", "building as another user needs root: reproof cannot hand the checkout to another UID"
			}
			u := rebuild.User{UID: h.User.UID + variedUIDOffset, GID: h.User.GID + variedUIDOffset}
			o.User = &u
			return fmt.Sprintf("builds as %s instead of %s", u, h.User), ""
		}},
	{Name: "umask", Changes: "the umask the build starts with",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.Umask = variedUmask
			return "umask " + variedUmask + " instead of 022", ""
		}},
	{Name: "timezone", Changes: "the time zone (TZ)",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.Env = append(o.Variation.Env, "TZ="+variedTZ)
			return "TZ=" + variedTZ + " (UTC+14) instead of UTC", ""
		}},
	{Name: "locale", Changes: "the locale (LC_ALL, LANG, LANGUAGE)",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.Env = append(o.Variation.Env, "LC_ALL="+variedLocale, "LANG="+variedLocale, "LANGUAGE=et_EE:et")
			return "LC_ALL=LANG=" + variedLocale + " (Estonian: another collation and messages) instead of LC_ALL=C.UTF-8", ""
		}},
	{Name: "hostname", Changes: "the host name and domain name",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.Hostname = variedHostname
			if h.Runtime == "podman" {
				return "host name " + variedHostname + " instead of reproof (podman cannot set a domain name)", ""
			}
			o.Variation.Domainname = variedDomainname
			return "host name " + variedHostname + " and domain name " + variedDomainname + " instead of reproof and none", ""
		}},
	{Name: "home", Changes: "the build user's home directory (HOME and passwd)",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.Home = variedHome
			return "HOME=" + variedHome + " (and in passwd)", ""
		}},
	{Name: "environment", Changes: "an extra, unrelated environment variable",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			o.Variation.Env = append(o.Variation.Env, variedEnv)
			return "adds " + variedEnv, ""
		}},
	{Name: "cpus", Changes: "the number of CPUs the build may use",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			if h.CPUs < 2 {
				return "", "this machine has one CPU: there is no other count to build with"
			}
			o.Variation.CPUSet = "0"
			return fmt.Sprintf("1 CPU (cpuset 0) instead of %d", h.CPUs), ""
		}},
	{Name: "file-order", Changes: "the order of directory listings in the checkout",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			if h.Disorderfs != nil {
				return "", h.Disorderfs.Error()
			}
			o.Variation.FileOrder = true
			return "the checkout through disorderfs: every directory listed in reverse order", ""
		}},
	{Name: "kernel", Changes: "the kernel version the build sees (uname -r)",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			if h.Personality != nil {
				return "", h.Personality.Error()
			}
			o.Variation.Uname26 = true
			return "UNAME26 personality (setarch --uname-2.6): uname -r says 2.6.x", ""
		}},
	{Name: "aslr", Changes: "address space layout randomization",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			switch {
			case h.Personality != nil:
				return "", h.Personality.Error()
			case h.Runtime == "docker":
				return "", "docker's seccomp profile, which docker builds keep, refuses personality(ADDR_NO_RANDOMIZE)"
			}
			o.Variation.NoASLR = true
			return "ASLR off (setarch --addr-no-randomize)", ""
		}},
	{Name: "time", Changes: "the clock, moved years ahead",
		apply: func(h *Host, o *rebuild.Options) (string, string) {
			if h.FakeTime == "" {
				return "", "the image has no libfaketime (" + strings.Join(fakeTimeLibs, ", ") + "); the clock moves only as much as the time between builds"
			}
			o.Variation.Env = append(o.Variation.Env, "LD_PRELOAD="+h.FakeTime, "FAKETIME="+fakeTimeOffset, "FAKETIME_DONT_FAKE_MONOTONIC=1")
			return "the clock 15 years ahead: the image's libfaketime preloaded with FAKETIME=" + fakeTimeOffset, ""
		}},
}

// Names lists the names of every variation, in table order.
func Names() []string {
	names := make([]string, len(Variations))
	for i, v := range Variations {
		names[i] = v.Name
	}
	return names
}

// lookup returns the variation called name.
func lookup(name string) (*Variation, bool) {
	for i := range Variations {
		if Variations[i].Name == name {
			return &Variations[i], true
		}
	}
	return nil, false
}

// ParseVary reads --vary: "all", "none", a comma-separated list of names,
// or "-name,..." for all but those (a list may mix "all" or "none" first
// with +name and -name after it: "all,-time"). It returns the selected
// names in table order.
func ParseVary(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = "all"
	}
	selected := map[string]bool{}
	items := strings.Split(s, ",")
	if strings.HasPrefix(items[0], "-") {
		for _, n := range Names() {
			selected[n] = true
		}
	}
	for i, item := range items {
		item = strings.TrimSpace(item)
		switch {
		case item == "all" && i == 0:
			for _, n := range Names() {
				selected[n] = true
			}
			continue
		case item == "none" && i == 0:
			continue
		case item == "all" || item == "none":
			return nil, fmt.Errorf("--vary %q: %s may only come first", s, item)
		case item == "":
			return nil, fmt.Errorf("--vary %q: empty name", s)
		}
		on := true
		if name, ok := strings.CutPrefix(item, "-"); ok {
			item, on = name, false
		} else {
			item = strings.TrimPrefix(item, "+")
		}
		if _, ok := lookup(item); !ok {
			return nil, fmt.Errorf("--vary %q: unknown variation %q (want all, none, or some of %s)", s, item, strings.Join(Names(), ", "))
		}
		selected[item] = on
	}
	var out []string
	for _, n := range Names() {
		if selected[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// VariationStatus is a selected variation as a check applied it or not.
type VariationStatus struct {
	Name    string
	Applied bool
	// How it was applied, or Reason it was skipped.
	How, Reason string
}

// resolve decides, for each selected variation, how it applies on h, and
// returns the statuses in table order.
func resolve(h *Host, names []string) []VariationStatus {
	var out []VariationStatus
	for _, v := range Variations {
		if !slices.Contains(names, v.Name) {
			continue
		}
		o := rebuild.Options{Variation: &rebuild.Variation{}}
		how, skip := v.apply(h, &o)
		if skip != "" {
			out = append(out, VariationStatus{Name: v.Name, Reason: skip})
			continue
		}
		out = append(out, VariationStatus{Name: v.Name, Applied: true, How: how})
	}
	return out
}

// withVariations returns a copy of base with the variations called names
// applied (all of them applicable on h: resolve said so).
func withVariations(h *Host, base rebuild.Options, names []string) rebuild.Options {
	o := base
	if len(names) == 0 {
		return o
	}
	o.Variation = &rebuild.Variation{}
	for _, n := range names {
		v, _ := lookup(n)
		v.apply(h, &o)
	}
	return o
}
