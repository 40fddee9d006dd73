package imageio_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/visagehq/visage/internal/imageio"
	"github.com/visagehq/visage/internal/testenv"
)

// BenchmarkDecodeJPEG decodes fixture photos with the standard decoder
// (full size, and shrunk to 2048 by area averaging), with TurboJPEG at
// each DCT scale, and through Decode with the default limits (TurboJPEG
// at the mildest scale that fits 2048).
//
//	go test -run '^$' -bench DecodeJPEG -benchmem ./internal/imageio/
func BenchmarkDecodeJPEG(b *testing.B) {
	for _, f := range []string{
		"id12_img38/img41.jpg", // progressive 2500×2070
		"id09_img26/img26.jpg", // baseline 1449×2173
		"id02_img8/img49.jpg",  // progressive 4352×2903
	} {
		data, err := os.ReadFile(testenv.Fixture(b, "faces", "deepface", f))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f+"/go-full", func(b *testing.B) { benchGo(b, data, -1) })
		b.Run(f+"/go-2048", func(b *testing.B) { benchGo(b, data, 0) })
		if imageio.TurboBuilt {
			for _, num := range []int{8, 7, 6, 4, 2, 1} {
				b.Run(fmt.Sprintf("%s/turbo-%d_8", f, num), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						if _, err := imageio.TurboAt(data, num); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
		b.Run(f+"/Decode", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := imageio.Decode(data, imageio.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchGo(b *testing.B, data []byte, side int) {
	p, err := imageio.NewPlan(data, imageio.Limits{MaxSide: side})
	if err == nil {
		p, err = imageio.GoPlan(p)
	}
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, _, err := imageio.RunPlan(p, data); err != nil {
			b.Fatal(err)
		}
	}
}
