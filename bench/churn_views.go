package bench

// ViewsResult is filled by --views.
type ViewsResult struct{}

type viewsRecorder struct{}

func newViewsRecorder(o ChurnOptions, s Scenario, reg *registry) *viewsRecorder { return nil }

func (v *viewsRecorder) record(tr churnTracker, reg *registry) {}

func (v *viewsRecorder) result(s Scenario) *ViewsResult { return nil }
