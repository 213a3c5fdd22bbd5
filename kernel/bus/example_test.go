package bus_test

import (
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
)

func ExampleDecodeTask() {
	t, err := bus.DecodeTask([]byte(`{"id":"disk-1","instruction":"how much disk is free?","timeout":"2m"}`))
	fmt.Println(t.ID, t.Pool, t.MaxAttempts, t.Timeout.D(), err)

	_, err = bus.DecodeTask([]byte(`{"instruction":"x","colour":"red"}`))
	fmt.Println(err != nil)
	// Output:
	// disk-1 default 3 2m0s <nil>
	// true
}

func ExampleNames() {
	n := bus.Names{}
	fmt.Println(n.Task("gpu"), n.TaskEvents("t-1"), n.Event("t-1"), n.EventBy("t-1", "gpu", "UABC"), n.TasksStream(), n.EventsStream())
	// Output: amf.tasks.gpu amf.events.t-1.> amf.events.t-1.k amf.events.t-1.gpu.UABC AMF_TASKS AMF_EVENTS
}
