package release

import (
	"reflect"
	"strings"
	"testing"
)

// Digests of "hello\n", by openssl dgst -binary | base64 and shaNNNsum.
const (
	helloSRI256 = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="
	helloHex256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	helloSRI384 = "sha384-HQ8oTv4+3qS5yjvVFPoTSxfq42HMx6Hu/v+AG5vWYE4B8h9r8knvAwWZ8MIY8rqM"
	helloHex384 = "1d0f284efe3edea4b9ca3bd514fa134b17eae361ccc7a1eefeff801b9bd6604e01f21f6bf249ef030599f0c218f2ba8c"
	helloSRI512 = "sha512-58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ=="
	helloHex512 = "e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629"
)

func TestParseSRI(t *testing.T) {
	tests := []struct {
		in        string
		want      []SRIHash
		strongest Algorithm
		err       string
	}{
		{helloSRI512, []SRIHash{{SHA512, helloHex512}}, SHA512, ""},
		{helloSRI256 + " " + helloSRI512 + "\t" + helloSRI384, []SRIHash{{SHA256, helloHex256}, {SHA512, helloHex512}, {SHA384, helloHex384}}, SHA512, ""},
		{helloSRI256 + "?opt=1", []SRIHash{{SHA256, helloHex256}}, SHA256, ""},
		{strings.TrimRight(helloSRI512, "="), []SRIHash{{SHA512, helloHex512}}, SHA512, ""},                                          // unpadded
		{"SHA384-" + strings.TrimPrefix(helloSRI384, "sha384-"), []SRIHash{{SHA384, helloHex384}}, SHA384, ""},                       // upper case algorithm
		{"md5-XUFAKrxLKna5cZ2REBfFkg== " + helloSRI256, []SRIHash{{SHA256, helloHex256}}, SHA256, ""},                                // unknown algorithms are skipped
		{"sha512-" + strings.NewReplacer("+", "-", "/", "_").Replace(helloSRI512[7:]), []SRIHash{{SHA512, helloHex512}}, SHA512, ""}, // URL-safe alphabet
		{"", nil, "", "no sha256, sha384 or sha512 hash"},
		{"md5-XUFAKrxLKna5cZ2REBfFkg==", nil, "", "no sha256, sha384 or sha512 hash"},
		{"sha512-AAAA", nil, "", "the sha512 digest is not 64 bytes"},
		{"sha256-" + helloSRI512[7:], nil, "", "the sha256 digest is not 32 bytes"},
		{"sha512-!!notbase64", nil, "", "is not ALGORITHM-BASE64"},
		{"sha512", nil, "", "is not ALGORITHM-BASE64"},
	}
	for _, tt := range tests {
		got, err := ParseSRI(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSRI(%q) = %v, %v, want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSRI(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
			continue
		}
		if s, ok := StrongestSRI(got); !ok || s.Algorithm != tt.strongest {
			t.Errorf("StrongestSRI(ParseSRI(%q)) = %v, %v, want %s", tt.in, s, ok, tt.strongest)
		}
	}
	if _, ok := StrongestSRI(nil); ok {
		t.Errorf("StrongestSRI(nil) = _, true, want false")
	}
}

func TestSRIString(t *testing.T) {
	for _, tt := range []struct {
		alg       Algorithm
		hex, want string
	}{{SHA512, helloHex512, helloSRI512}, {SHA384, helloHex384, helloSRI384}, {SHA256, helloHex256, helloSRI256}} {
		if got, err := SRIString(tt.alg, tt.hex); err != nil || got != tt.want {
			t.Errorf("SRIString(%s, %s) = %q, %v, want %q", tt.alg, tt.hex, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		alg Algorithm
		hex string
	}{{SHA1, strings.Repeat("a", 40)}, {SHA512, helloHex256}, {SHA256, "zz"}} {
		if got, err := SRIString(tt.alg, tt.hex); err == nil {
			t.Errorf("SRIString(%s, %s) = %q, nil, want an error", tt.alg, tt.hex, got)
		}
	}
}

func TestParseSRIManifest(t *testing.T) {
	c := func(name string, alg Algorithm, digest string, line int) Checksum {
		return Checksum{Name: name, Algorithm: alg, Digest: digest, Source: "m", Line: line}
	}
	lockV3 := `{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "app", "version": "1.0.0"},
    "node_modules/hello": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/hello/-/hello-1.0.0.tgz",
      "integrity": "` + helloSRI512 + `"
    },
    "node_modules/@s/hi": {
      "version": "2.0.0",
      "integrity": "` + helloSRI256 + `"
    },
    "node_modules/a/node_modules/hello": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/hello/-/hello-1.0.0.tgz",
      "integrity": "` + helloSRI512 + `"
    },
    "node_modules/local": {"resolved": "../local", "link": true}
  }
}`
	lockV1 := `{
  "lockfileVersion": 1,
  "dependencies": {
    "hello": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/hello/-/hello-1.0.0.tgz?cache=0",
      "integrity": "` + helloSRI384 + `",
      "dependencies": {
        "inner": {"version": "3.1.0", "integrity": "` + helloSRI256 + `"}
      }
    }
  }
}`
	tests := []struct {
		name, data string
		layout     Layout
		want       []Checksum
		err        string
	}{
		{"lines", "# npm tarballs\n" + helloSRI512 + "  hello-1.0.0.tgz\n\n" + helloSRI256 + " " + helloSRI384 + "\tdir/with space.tgz\n", LayoutSRI,
			[]Checksum{c("hello-1.0.0.tgz", SHA512, helloHex512, 2), c("dir/with space.tgz", SHA384, helloHex384, 4)}, ""},
		{"binary mark", helloSRI256 + " *hello.tgz", LayoutSRI, []Checksum{c("hello.tgz", SHA256, helloHex256, 1)}, ""},
		{"package-lock v3", lockV3, LayoutPackageLock,
			[]Checksum{c("hello-1.0.0.tgz", SHA512, helloHex512, 9), c("hi-2.0.0.tgz", SHA256, helloHex256, 13)}, ""},
		{"package-lock v1", lockV1, LayoutPackageLock,
			[]Checksum{c("hello-1.0.0.tgz", SHA384, helloHex384, 7), c("inner-3.1.0.tgz", SHA256, helloHex256, 9)}, ""},
		{"no name", helloSRI512 + "\n", "", nil, "m:1: empty file name"},
		{"bad hash", "sha512-AAAA  x.tgz\n", "", nil, "m:1: integrity"},
		{"not sri", helloSRI512 + "  a\n" + helloHex256 + "  b\n", "", nil, "m:2: not an SRI checksum line"},
		{"empty lock", `{"lockfileVersion": 3, "packages": {"": {}}}`, "", nil, "lists no package with an integrity"},
		{"bad lock integrity", `{"lockfileVersion": 2, "packages": {"node_modules/x": {"version": "1.0.0", "integrity": "sha1-AAAA"}}}`, "", nil, "node_modules/x: integrity"},
	}
	for _, tt := range tests {
		if !LooksSRI([]byte(tt.data)) {
			t.Errorf("LooksSRI(%s) = false, want true", tt.name)
		}
		m, err := ParseSRIManifest("m", []byte(tt.data), 1)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSRIManifest(%s) = %+v, %v, want error %q", tt.name, m, err, tt.err)
			}
			continue
		}
		if err != nil || m.Layout != tt.layout || !reflect.DeepEqual(m.Checksums, tt.want) {
			t.Errorf("ParseSRIManifest(%s) = %+v, %v, want layout %s, %+v", tt.name, m, err, tt.layout, tt.want)
		}
	}
}

func TestLooksSRI(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{"\n# comment\n" + helloSRI512 + "  x\n", true},
		{helloHex256 + "  x\n", false},
		{"SHA256 (x) = " + helloHex256 + "\n", false},
		{`{"artifacts": []}`, false},
		{`{"lockfileVersion": 3}`, true},
		{"", false},
		{"```\n" + helloSRI512 + "  x\n```\n", false},
	}
	for _, tt := range tests {
		if got := LooksSRI([]byte(tt.data)); got != tt.want {
			t.Errorf("LooksSRI(%q) = %v, want %v", tt.data, got, tt.want)
		}
	}
}

// FuzzParseSRIManifest: never a panic; what parses has well-formed
// digests and names.
func FuzzParseSRIManifest(f *testing.F) {
	f.Add(helloSRI512 + "  hello.tgz\n")
	f.Add(helloSRI256 + " " + helloSRI384 + "\tx y.tgz\n# c\n")
	f.Add(`{"lockfileVersion": 3, "packages": {"node_modules/x": {"version": "1.0.0", "integrity": "` + helloSRI512 + `"}}}`)
	f.Add(`{"lockfileVersion": 1, "dependencies": {"x": {"version": "1.0.0", "resolved": "https://r/x/-/x-1.0.0.tgz", "integrity": "` + helloSRI256 + `", "dependencies": {}}}}`)
	f.Fuzz(func(t *testing.T, data string) {
		if !LooksSRI([]byte(data)) {
			return
		}
		m, err := ParseSRIManifest("m", []byte(data), 1)
		if err != nil {
			return
		}
		for _, c := range m.Checksums {
			if c.Name == "" || hasControl(c.Name) || len(c.Digest) != c.Algorithm.HexLen() || !hexDigest.MatchString(c.Digest) {
				t.Errorf("ParseSRIManifest(%q) = checksum %+v", data, c)
			}
		}
	})
}
