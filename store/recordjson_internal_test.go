package store

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestMarshalLikeJSON: the encoders of fields and clocks write exactly what json.Marshal writes, and fail where it
// fails: stored fields are compared byte by byte with fields encoded by json.Marshal.
func TestMarshalLikeJSON(t *testing.T) {
	values := []string{`"Etüde 1"`, `"Tonleitern C-Dur und a-Moll üben"`, `"a<b"`, `"x & y"`, `"\u003c"`, `"quote \" and \\"`,
		`"line\nbreak"`, "\"raw\u2028sep\"", `"en – dash „quoted“"`, `12`, `-0.5e3`, `true`, `null`, `{"value":"present","at":"x"}`,
		`{ "spaced" : 1 }`, `[1, 2]`, `" leading space"`, "\"tab\tinside\"", ``, `{`, `"unterminated`, `01`, `nul`, `"\x01"`, `"\xff"`}
	keys := []string{"status", "topic", "_conflicts", "lateMinutes", "Status", "a<b", "quo\"te", "ü", "", "\x7f", "sp ace"}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		fields := map[string]json.RawMessage{}
		clocks := map[string]string{}
		for range rnd.IntN(5) {
			k := keys[rnd.IntN(len(keys))]
			v := values[rnd.IntN(len(values))]
			fields[k] = json.RawMessage(v)
			if rnd.IntN(7) == 0 {
				fields[k] = nil
			}
			clocks[k] = "0190a1b2c3d4-000000-" + keys[rnd.IntN(len(keys))]
		}
		if i%100 == 0 {
			fields, clocks = nil, nil
		}
		want, wantErr := json.Marshal(fields)
		got, _, err := marshalFields(fields)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("fields %q: %s (%v), json.Marshal %s (%v)", fields, got, err, want, wantErr)
		}
		want, wantErr = json.Marshal(clocks)
		got, _, err = marshalClocks(clocks)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("clocks %q: %s (%v), json.Marshal %s (%v)", clocks, got, err, want, wantErr)
		}
		if err == nil {
			var back, wantBack map[string]string
			if err := unmarshalClocks(got, &back); err != nil || json.Unmarshal(got, &wantBack) != nil || !maps.Equal(back, wantBack) {
				t.Fatalf("clocks %s read back: %q (%v), json.Unmarshal %q", got, back, err, wantBack)
			}
		}
		if raw, _, err := marshalFields(fields); err == nil {
			var back, wantBack map[string]json.RawMessage
			if err := unmarshalFields(raw, &back); err != nil || json.Unmarshal(raw, &wantBack) != nil || !equalFields(back, wantBack) {
				t.Fatalf("fields %s read back: %q (%v), json.Unmarshal %q", raw, back, err, wantBack)
			}
		}
	}
}

// TestUnmarshalLikeJSON: the decoders of fields and clocks read what json.Unmarshal reads, into the same maps,
// and fail where it fails.
func TestUnmarshalLikeJSON(t *testing.T) {
	inputs := []string{`{}`, `null`, ``, `{`, `}`, `[]`, `{"a":1}`, `{"a":1,}`, `{"a":1,"a":2}`, `{"a" :1}`, `{"a": 1}`, `{"a":1 }`,
		` {"a":1}`, `{"a":1} `, `{"a":1}x`, `{"a":{"b":[1,"}",{"c":"]"}]},"d":"x\"y"}`, `{"a":{ "b":1}}`, `{"a\u0062":"c"}`,
		`{"status":"present","lateMinutes":0,"comment":"a, b: {c}"}`, `{"a":tru}`, `{"a":"x\\"}`, `{"a":"unterminated}`,
		`{"a":01}`, `{"a":-1.5e3,"b":null,"c":false,"d":[]}`, `{"ü":"x"}`, "{\"a\":\"\xff\"}", `{"a":"\u00fc"}`,
		`{"_conflicts":{"status":{"value":"late","at":"0190a1b2c3d4-000000-n1"}}}`, `{1:2}`, `{"a":1"b":2}`, `{"a"}`, `{"a":}`}
	for _, in := range inputs {
		var wantF, gotF map[string]json.RawMessage
		wantErr := json.Unmarshal([]byte(in), &wantF)
		err := unmarshalFields([]byte(in), &gotF)
		if (err != nil) != (wantErr != nil) || !equalFields(gotF, wantF) || (gotF == nil) != (wantF == nil) {
			t.Errorf("fields %s: %q (%v), json.Unmarshal %q (%v)", in, gotF, err, wantF, wantErr)
		}
		var wantC, gotC map[string]string
		wantErr = json.Unmarshal([]byte(in), &wantC)
		err = unmarshalClocks([]byte(in), &gotC)
		if (err != nil) != (wantErr != nil) || !maps.Equal(gotC, wantC) || (gotC == nil) != (wantC == nil) {
			t.Errorf("clocks %s: %q (%v), json.Unmarshal %q (%v)", in, gotC, err, wantC, wantErr)
		}
	}
	if _, ok := splitObject([]byte(`{"status":"present","lateMinutes":0,"_conflicts":{"status":{"value":"late"}}}`), rawValueEnd); !ok {
		t.Error("a record's compact fields are not read without encoding/json")
	}
	clocks := map[string]string{"status": "0190a1b2c3d4-000000-n1", "a<b": "x", "_deleted": "0190a1b2c3d4-00000a-n2"}
	raw, _, _ := marshalClocks(clocks)
	var back map[string]string
	if err := unmarshalClocks(raw, &back); err != nil || !maps.Equal(back, clocks) {
		t.Errorf("clocks round trip: %q %v", back, err)
	}
}

func equalFields(a, b map[string]json.RawMessage) bool {
	return maps.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}
