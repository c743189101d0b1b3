package benchrig

import "slices"

// archAliases maps the names kernels (uname -m), distributions and Docker
// use for one architecture to Go's GOARCH names, which are also Docker's
// platform architectures.
var archAliases = map[string]string{
	"x86_64":   "amd64",
	"x86-64":   "amd64",
	"aarch64":  "arm64",
	"armv8":    "arm64",
	"arm64/v8": "arm64",
	"i386":     "386",
	"i686":     "386",
	"armv7l":   "arm",
	"armhf":    "arm",
}

// KnownArchs are the architectures benchrig knows, by GOARCH name.
var KnownArchs = []string{"amd64", "arm64", "386", "arm", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"}

// NormalizeArch maps an architecture name to the GOARCH name benchrig keys
// images and nodes by (x86_64 -> amd64, aarch64 -> arm64), and reports
// whether it is known. Specs, pools and host fingerprints all use it, so
// an image for "aarch64" matches a node whose engine says "arm64".
func NormalizeArch(arch string) (string, bool) {
	if a, ok := archAliases[arch]; ok {
		return a, true
	}
	return arch, slices.Contains(KnownArchs, arch)
}
