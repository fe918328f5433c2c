package spec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The build limits' bounds. A limit left out (zero) takes the default
// reproof resolves for the host at run time (docs/limits.md): processes
// 4096; memory 8 GiB or half the host's, whichever is less; CPUs the
// host's count; each tmpfs 2 GiB or the memory limit; output 16 GiB or
// half the free space where the work directory is made.
const (
	MinPidsLimit = 8
	MaxPidsLimit = 1 << 22
	MinMemory    = 16 << 20
	MinTmpfsSize = 1 << 20
	MinOutput    = 1 << 20
	MaxCPUs      = 4096
)

// sizeUnits are the units ParseSize takes: binary (K, KiB, ...: powers of
// 1024) and decimal (kB, MB, ...: powers of 1000), and B for bytes.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// ParseSize reads a size in bytes: a number with an optional unit, such
// as "512MiB", "8 GiB", "1.5G" (K, M, G, T and KiB ... TiB are powers of
// 1024; kB, MB, GB, TB powers of 1000), or plain bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%s is not a size (such as 512MiB, 8GiB or a number of bytes)", quote(s))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s is not a size (such as 512MiB, 8GiB or a number of bytes)", quote(s))
	}
	v := f * mult
	if v >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%s is too large", quote(s))
	}
	return int64(v), nil
}

// sizeValue is a size field's value in bytes: an integer (TOML) or a
// string with a unit.
func sizeValue(v value) (int64, error) {
	if v.str == "" && v.sizeIsInt {
		return v.n, nil
	}
	return ParseSize(v.str)
}

// checkSize refuses a size below min (0, unset, passes).
func checkSize(what string, n, min int64) error {
	if n != 0 && n < min {
		return fmt.Errorf("%s of %d bytes is too small: want at least %d bytes", what, n, min)
	}
	if n < 0 {
		return fmt.Errorf("%s is negative", what)
	}
	return nil
}

func checkPidsLimit(n int64) error {
	if n != 0 && (n < MinPidsLimit || n > MaxPidsLimit) {
		return fmt.Errorf("%d is out of range (%d to %d processes)", n, MinPidsLimit, MaxPidsLimit)
	}
	return nil
}

// cpusValue is a CPU count: an integer or a float (TOML), or a string.
func cpusValue(v value) (float64, error) {
	if v.str == "" && v.numIsSet {
		return v.f, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.str), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a number of CPUs (such as 2 or 1.5)", quote(v.str))
	}
	return f, nil
}

func checkCPUs(f float64) error {
	if f == 0 {
		return nil
	}
	if !(f >= 0.01 && f <= MaxCPUs) {
		return fmt.Errorf("%s is out of range (0.01 to %d CPUs)", strconv.FormatFloat(f, 'f', -1, 64), MaxCPUs)
	}
	return nil
}

func checkEngineTimeout(d time.Duration) error {
	if d < 0 {
		return errors.New("negative duration")
	}
	if d != 0 && d < time.Second {
		return fmt.Errorf("%s is shorter than a second", quote(d.String()))
	}
	return nil
}
