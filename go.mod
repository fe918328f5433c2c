module github.com/reproof/reproof

go 1.26.8

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/sergi/go-diff v1.4.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	github.com/ulikunitz/xz v0.5.17 // indirect
)
