package audit

// Action is what staff did with a resident's data. Each is shown
// translated on the access log page (accesslog.action.<code> in fi, sv and
// en); a test checks that every action listed in Actions has its texts.
type Action string

// The actions. Reads say what was shown, changes what was changed.
const (
	AccessLogView         Action = "access_log.view"          // an admin read the access log
	BookingView           Action = "booking.view"             // an appointment naming a resident was shown
	BookingResidentView   Action = "booking.resident_view"    // a resident's details were opened to book for them
	BookingResidentSearch Action = "booking.resident_search"  // residents were searched by name to book for one
	BookingCreate         Action = "booking.create"           // an appointment was booked for a resident
	BookingCancel         Action = "booking.cancel"           // a resident's appointment was cancelled
	BookingMove           Action = "booking.move"             // a resident's appointment was moved
	BookingOutcome        Action = "booking.outcome"          // an appointment's outcome was recorded
	ChatAccept            Action = "chat.accept"              // a logged-in resident's chat was accepted from the queue
	ChatOpen              Action = "chat.open"                // a logged-in resident's conversation was opened
	ChatTranscript        Action = "chat.transcript"          // a resident's earlier chat transcript was read
	ChatResidentPage      Action = "chat.resident_page"       // a chatting resident's details were opened
	ExchangeView          Action = "exchange.view"            // a housing-exchange application was opened
	ExchangeAttachment    Action = "exchange.attachment"      // an attachment of an application was downloaded
	ExchangePackage       Action = "exchange.package"         // the forwarding package (PDF or JSON) was downloaded
	ExchangeAssess        Action = "exchange.assess"          // the assessment and special justifications were saved
	ExchangeForward       Action = "exchange.forward"         // the application was forwarded to the housing office
	ExchangeStatus        Action = "exchange.status"          // the application's status was changed
	ContactView           Action = "contact.view"             // a contact request about a resident was opened
	ContactUpdate         Action = "contact.update"           // a contact request was assigned, an attempt or the outcome recorded
	MessageThreadView     Action = "messages.view"            // a resident's message thread was opened
	MessageSend           Action = "messages.send"            // a message was sent to a resident
	MessageAttachment     Action = "messages.attachment"      // an attachment of a message was downloaded
	MessageAssign         Action = "messages.assign"          // a resident's thread was assigned to an advisor
	MessageResidentSearch Action = "messages.resident_search" // residents were searched by name to write to one
	CaseView              Action = "cases.view"               // a client case was opened
	CaseChange            Action = "cases.change"             // a client case was opened, changed, noted or closed
	CaseResidentSearch    Action = "cases.resident_search"    // residents were searched by name to open a case
	ClientRecordCreate    Action = "cases.client_record"      // a person who has not logged in was recorded
	CaseResidentFromItem  Action = "cases.resident_from_item" // a resident was shown to open a case from their chat, appointment or application
	CaseErase             Action = "cases.erase"              // a closed case's personal data was erased after its retention period
)

// Actions lists every action, for the translation check.
func Actions() []Action {
	return []Action{
		AccessLogView, BookingView, BookingResidentView, BookingResidentSearch, BookingCreate,
		BookingCancel, BookingMove, BookingOutcome, ChatAccept, ChatOpen, ChatTranscript, ChatResidentPage,
		ExchangeView, ExchangeAttachment, ExchangePackage, ExchangeAssess, ExchangeForward, ExchangeStatus,
		ContactView, ContactUpdate, MessageThreadView, MessageSend, MessageAttachment, MessageAssign,
		MessageResidentSearch, CaseView, CaseChange, CaseResidentSearch, ClientRecordCreate, CaseResidentFromItem, CaseErase,
	}
}

// Reason is why staff did it, shown translated (accesslog.reason.<code>).
type Reason string

// The reasons.
const (
	ReasonAdminPage        Reason = "admin_page"            // reading the access log page
	ReasonCalendar         Reason = "calendar"              // the advisor's calendar
	ReasonDeskToday        Reason = "desk_today"            // today's appointments on the desk
	ReasonBookingPage      Reason = "booking_page"          // the appointment's own page
	ReasonOnBehalf         Reason = "on_behalf"             // booking for a resident
	ReasonMoveOnBehalf     Reason = "move_on_behalf"        // moving a resident's appointment
	ReasonAbsenceConflict  Reason = "absence_conflict"      // appointments in the way of an absence
	ReasonStaffChange      Reason = "staff_change"          // a change made by staff
	ReasonOutcome          Reason = "outcome"               // recording how the appointment went
	ReasonAdvisorAbsent    Reason = "advisor_absent"        // the advisor became unavailable
	ReasonChatService      Reason = "chat_service"          // serving the resident in the chat
	ReasonChatHistory      Reason = "chat_history"          // the resident's earlier chats
	ReasonChatResidentInfo Reason = "chat_resident_info"    // who the chatting resident is
	ReasonExchange         Reason = "exchange"              // assessing a housing-exchange application
	ReasonContactRequest   Reason = "contact_request"       // acting on a contact request about the resident
	ReasonMessages         Reason = "messages"              // the secure messages with the resident
	ReasonDeskList         Reason = "desk_list"             // a desk list that names the resident
	ReasonCaseWork         Reason = "case_work"             // working on the resident's case
	ReasonCaseFollowUp     Reason = "case_follow_up"        // following up the case
	ReasonCaseSupervision  Reason = "case_supervision"      // a supervisor's review
	ReasonCaseRequest      Reason = "case_resident_request" // the resident asked (a call, a visit)
	ReasonCaseRetention    Reason = "case_retention"        // the case's retention period had passed
)

// Reasons lists every reason, for the translation check.
func Reasons() []Reason {
	return []Reason{
		ReasonAdminPage, ReasonCalendar, ReasonDeskToday, ReasonBookingPage, ReasonOnBehalf, ReasonMoveOnBehalf,
		ReasonAbsenceConflict, ReasonStaffChange, ReasonOutcome, ReasonAdvisorAbsent,
		ReasonChatService, ReasonChatHistory, ReasonChatResidentInfo, ReasonExchange,
		ReasonContactRequest, ReasonMessages, ReasonDeskList,
		ReasonCaseWork, ReasonCaseFollowUp, ReasonCaseSupervision, ReasonCaseRequest, ReasonCaseRetention,
	}
}
