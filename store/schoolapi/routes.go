package schoolapi

import (
	"net/http"

	"pult/store"
)

// Routes is a ServeMux that remembers its patterns, so that a test can hold them against the OpenAPI document.
type Routes struct {
	Mux      *http.ServeMux
	Patterns []string
}

// NewRoutes returns an empty route table.
func NewRoutes() *Routes { return &Routes{Mux: http.NewServeMux()} }

// Handle registers a handler for a method pattern such as "GET /api/v1/courses".
func (rt *Routes) Handle(pattern string, h http.Handler) {
	rt.Mux.Handle(pattern, h)
	rt.Patterns = append(rt.Patterns, pattern)
}

// ActorHandler is a handler for logged-in users; an error it returns becomes the API's error answer.
type ActorHandler func(w http.ResponseWriter, r *http.Request, a store.Actor) error

func (h ActorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := ActorFrom(r.Context())
	if !ok {
		WriteError(w, r, store.Errorf(store.CodeUnauthenticated, "log in first"))
		return
	}
	if err := h(w, r, a); err != nil {
		WriteError(w, r, err)
	}
}

type api struct{ db *store.DB }

// Register mounts the school data routes.
func Register(rt *Routes, db *store.DB) {
	h := api{db: db}
	rt.Handle("GET /api/v1/courses", ActorHandler(h.listCourses))
	rt.Handle("POST /api/v1/courses", ActorHandler(h.createCourse))
	rt.Handle("GET /api/v1/courses/{id}", ActorHandler(h.getCourse))
	rt.Handle("PATCH /api/v1/courses/{id}", ActorHandler(h.updateCourse))
	rt.Handle("DELETE /api/v1/courses/{id}", ActorHandler(h.deleteCourse))
	rt.Handle("GET /api/v1/courses/{id}/students", ActorHandler(h.courseStudents))
	rt.Handle("PUT /api/v1/courses/{id}/students/{studentId}", ActorHandler(h.enroll))
	rt.Handle("DELETE /api/v1/courses/{id}/students/{studentId}", ActorHandler(h.unenroll))
	rt.Handle("GET /api/v1/courses/{id}/lessons", ActorHandler(h.listLessons))
	rt.Handle("POST /api/v1/courses/{id}/lessons", ActorHandler(h.createLesson))
	rt.Handle("GET /api/v1/lessons/{id}", ActorHandler(h.getLesson))
	rt.Handle("PATCH /api/v1/lessons/{id}", ActorHandler(h.updateLesson))
	rt.Handle("DELETE /api/v1/lessons/{id}", ActorHandler(h.deleteLesson))
	rt.Handle("GET /api/v1/lessons/{id}/attendance", ActorHandler(h.attendance))
	rt.Handle("PUT /api/v1/lessons/{id}/attendance/{studentId}", ActorHandler(h.mark))
	rt.Handle("DELETE /api/v1/lessons/{id}/attendance/{studentId}", ActorHandler(h.clearMark))
	rt.Handle("POST /api/v1/lessons/{id}/attendance/all-present", ActorHandler(h.allPresent))
	rt.Handle("GET /api/v1/students", ActorHandler(h.listStudents))
	rt.Handle("POST /api/v1/students", ActorHandler(h.createStudent))
	rt.Handle("PATCH /api/v1/students/{id}", ActorHandler(h.updateStudent))
	rt.Handle("DELETE /api/v1/students/{id}", ActorHandler(h.deleteStudent))
	rt.Handle("POST /api/v1/students/import/preview", ActorHandler(h.previewImport))
	rt.Handle("POST /api/v1/students/import", ActorHandler(h.importStudents))
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h api) listCourses(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := h.db.Courses(r.Context(), a)
	if err != nil {
		return err
	}
	WriteList(w, r, list)
	return nil
}

type courseInput struct {
	Name      string `json:"name"`
	Subject   string `json:"subject"`
	TeacherID string `json:"teacherId"`
}

func (h api) createCourse(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in courseInput
	if err := Decode(w, r, DefaultBodyLimit, &in); err != nil {
		return err
	}
	c, err := h.db.CreateCourse(r.Context(), a, store.Course{Name: in.Name, Subject: in.Subject, TeacherID: in.TeacherID})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (h api) getCourse(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	c, err := h.db.Course(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h api) updateCourse(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var p store.CoursePatch
	if err := Decode(w, r, DefaultBodyLimit, &p); err != nil {
		return err
	}
	c, err := h.db.UpdateCourse(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h api) deleteCourse(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := h.db.DeleteCourse(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (h api) courseStudents(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := h.db.CourseStudents(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteList(w, r, list)
	return nil
}

func (h api) enroll(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := h.db.Enroll(r.Context(), a, r.PathValue("id"), r.PathValue("studentId")); err != nil {
		return err
	}
	return noContent(w)
}

func (h api) unenroll(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := h.db.Unenroll(r.Context(), a, r.PathValue("id"), r.PathValue("studentId")); err != nil {
		return err
	}
	return noContent(w)
}

func (h api) listLessons(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := h.db.Lessons(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteList(w, r, list)
	return nil
}

type lessonInput struct {
	Date      string `json:"date"`
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
	Topic     string `json:"topic"`
	Homework  string `json:"homework"`
	Note      string `json:"note"`
	// ParentNote is the note parents see (SD4).
	ParentNote string `json:"parentNote"`
}

func (h api) createLesson(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	var in lessonInput
	if err := Decode(w, r, DefaultBodyLimit, &in); err != nil {
		return err
	}
	l, err := h.db.CreateLesson(r.Context(), a, r.PathValue("id"), store.Lesson{
		Date: in.Date, StartTime: in.StartTime, EndTime: in.EndTime, Topic: in.Topic, Homework: in.Homework, Note: in.Note, ParentNote: in.ParentNote})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, l)
	return nil
}

func (h api) getLesson(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	l, err := h.db.Lesson(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, l)
	return nil
}

func (h api) updateLesson(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	var p store.LessonPatch
	if err := Decode(w, r, DefaultBodyLimit, &p); err != nil {
		return err
	}
	l, err := h.db.UpdateLesson(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, l)
	return nil
}

func (h api) deleteLesson(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := h.db.DeleteLesson(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (h api) attendance(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := h.db.Attendance(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteList(w, r, list)
	return nil
}

type markInput struct {
	Status      store.AttendanceStatus `json:"status"`
	LateMinutes int                    `json:"lateMinutes"`
	Comment     string                 `json:"comment"`
}

func (h api) mark(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	var in markInput
	if err := Decode(w, r, DefaultBodyLimit, &in); err != nil {
		return err
	}
	m, err := h.db.MarkAttendance(r.Context(), a, r.PathValue("id"), r.PathValue("studentId"),
		store.AttendanceMark{Status: in.Status, LateMinutes: in.LateMinutes, Comment: in.Comment})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, m)
	return nil
}

func (h api) clearMark(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := h.db.ClearAttendance(r.Context(), a, r.PathValue("id"), r.PathValue("studentId")); err != nil {
		return err
	}
	return noContent(w)
}

func (h api) allPresent(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := h.db.MarkAllPresent(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	WriteList(w, r, list)
	return nil
}

func (h api) listStudents(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	list, err := h.db.Students(r.Context(), a)
	if err != nil {
		return err
	}
	WriteList(w, r, list)
	return nil
}

type studentInput struct {
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	BirthDate     string `json:"birthDate"`
	Class         string `json:"class"`
	GuardianEmail string `json:"guardianEmail"`
}

func (h api) createStudent(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in studentInput
	if err := Decode(w, r, DefaultBodyLimit, &in); err != nil {
		return err
	}
	st, err := h.db.CreateStudent(r.Context(), a, store.Student{FirstName: in.FirstName, LastName: in.LastName,
		BirthDate: in.BirthDate, Class: in.Class, GuardianEmail: in.GuardianEmail})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, st)
	return nil
}

func (h api) updateStudent(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var p store.StudentPatch
	if err := Decode(w, r, DefaultBodyLimit, &p); err != nil {
		return err
	}
	st, err := h.db.UpdateStudent(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, st)
	return nil
}

func (h api) deleteStudent(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := h.db.DeleteStudent(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

type previewInput struct {
	CSV string `json:"csv"`
}

func (h api) previewImport(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in previewInput
	if err := Decode(w, r, ImportBodyLimit, &in); err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, store.ParseClassList(in.CSV))
	return nil
}

type importInput struct {
	CSV         string `json:"csv"`
	CourseID    string `json:"courseId"`
	SkipInvalid bool   `json:"skipInvalid"`
}

type importResult struct {
	Imported int `json:"imported"`
	Skipped  int `json:"skipped"`
	Enrolled int `json:"enrolled"`
}

func (h api) importStudents(w http.ResponseWriter, r *http.Request, a store.Actor) error {
	if err := a.RequireAdmin(); err != nil {
		return err
	}
	var in importInput
	if err := Decode(w, r, ImportBodyLimit, &in); err != nil {
		return err
	}
	list := store.ParseClassList(in.CSV)
	if list.Error != "" || (list.Invalid > 0 && !in.SkipInvalid) || list.Valid == 0 {
		WriteErrorWith(w, r, store.Errorf(store.CodeImportInvalidRows, "the class list has bad lines; fix them or skip them"), map[string]any{"preview": list})
		return nil
	}
	students := list.ValidStudents()
	enrolled, err := h.db.ImportStudents(r.Context(), a, students, in.CourseID)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, importResult{Imported: len(students), Skipped: list.Invalid, Enrolled: enrolled})
	return nil
}
