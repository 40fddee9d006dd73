package aamva

import "testing"

func BenchmarkParse(b *testing.B) {
	data := ohio()
	for b.Loop() {
		l, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		_ = l.Document()
	}
}
