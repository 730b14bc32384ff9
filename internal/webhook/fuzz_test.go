package webhook

import (
	"encoding/json"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzReview: any request body is answered with an error or a response
// for its request (the same uid, a reason when denied, a patch that
// applies to the object); the handler never panics.
func FuzzReview(f *testing.F) {
	h := handler(f, "admission:\n  mode: warn\n  severity: {critical: enforce}\n  mutate: [seccomp-profile, capabilities-drop-all]\n", nil)
	obj := jsonOf(f, insecure)
	f.Add(reviewOf(f, admissionv1.Create, obj, nil), true)
	f.Add(reviewOf(f, admissionv1.Update, obj, obj), false)
	f.Add(reviewOf(f, admissionv1.Create, []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x","securityContext":{"privileged":true}}]}}`), nil), false)
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"apiVersion":"v1","kind":"List","items":[]}}}`), false)
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"DELETE"}}`), true)
	f.Add([]byte("{"), false)
	f.Fuzz(func(t *testing.T, body []byte, mutate bool) {
		if len(body) > 1<<16 {
			return
		}
		out, err := h.Review(mutate, body)
		if err != nil {
			return
		}
		var in admissionv1.AdmissionReview
		if json.Unmarshal(body, &in) != nil || in.Request == nil {
			t.Fatalf("answered a body that is not a review: %q", body)
		}
		r := out.Response
		if r == nil || r.UID != in.Request.UID {
			t.Fatalf("response %+v for request uid %q", r, in.Request.UID)
		}
		if !r.Allowed && (r.Result == nil || r.Result.Message == "") {
			t.Fatal("denied without a reason")
		}
		if len(r.Patch) > 0 {
			p, err := jsonpatch.DecodePatch(r.Patch)
			if err != nil {
				t.Fatalf("patch %s: %v", r.Patch, err)
			}
			if _, err := p.Apply(in.Request.Object.Raw); err != nil {
				t.Fatalf("patch %s does not apply to %s: %v", r.Patch, in.Request.Object.Raw, err)
			}
		}
	})
}
