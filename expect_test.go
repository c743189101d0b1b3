package benchrig

import "testing"

func TestParseLineRange(t *testing.T) {
	tests := []struct {
		name, in string
		want     LineRange
		str      string
		wantErr  bool
	}{
		{name: "exact", in: "5000", want: LineRange{5000, 5000}, str: "5000"},
		{name: "zero", in: " 0 ", want: LineRange{0, 0}, str: "0"},
		{name: "at least", in: ">=1", want: LineRange{1, -1}, str: ">=1"},
		{name: "at most", in: "<= 10", want: LineRange{0, 10}, str: "<=10"},
		{name: "range", in: "1..100", want: LineRange{1, 100}, str: "1..100"},
		{name: "reversed range", in: "9..1", wantErr: true},
		{name: "negative", in: "-1", wantErr: true},
		{name: "word", in: "many", wantErr: true},
		{name: "half range", in: "1..", wantErr: true},
		{name: "greater than", in: ">1", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLineRange(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want || got.String() != tt.str {
				t.Errorf("got %+v (%q), %v; want %+v (%q)", got, got.String(), err, tt.want, tt.str)
			}
		})
	}
	r := LineRange{2, 3}
	if r.Contains(1) || !r.Contains(2) || !r.Contains(3) || r.Contains(4) || !(LineRange{1, -1}).Contains(1<<40) {
		t.Error("Contains disagrees with the range")
	}
}
