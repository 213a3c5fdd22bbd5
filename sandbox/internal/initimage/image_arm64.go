package initimage

import _ "embed"

//go:embed linux_arm64.gz
var compressed []byte
