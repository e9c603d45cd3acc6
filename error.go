package meterd

import (
	"errors"
	"fmt"
)

// Error codes. Each is the name of the AWS exception (or Coral error) that the
// client sees; awsjson maps them to HTTP statuses in one table.
const (
	EInternal                = "InternalServiceErrorException"
	EValidation              = "ValidationException"
	ESerialization           = "SerializationException"
	EUnknownOperation        = "UnknownOperationException"
	EIncompleteSignature     = "IncompleteSignatureException"
	EInvalidSignature        = "InvalidSignatureException"
	EUnrecognizedClient      = "UnrecognizedClientException"
	EAccessDenied            = "AccessDeniedException"
	EExpiredToken            = "ExpiredTokenException"
	EMissingAuthToken        = "MissingAuthenticationTokenException"
	EThrottling              = "ThrottlingException"
	EInvalidProductCode      = "InvalidProductCodeException"
	EInvalidUsageDimension   = "InvalidUsageDimensionException"
	EInvalidTag              = "InvalidTagException"
	EInvalidUsageAllocations = "InvalidUsageAllocationsException"
	EInvalidCustomerID       = "InvalidCustomerIdentifierException"
	EInvalidLicense          = "InvalidLicenseException"
	ETimestampOutOfBounds    = "TimestampOutOfBoundsException"
	EDisabledAPI             = "DisabledApiException"
	ECustomerNotEntitled     = "CustomerNotEntitledException"
	EDuplicateRequest        = "DuplicateRequestException"
	EIdempotencyConflict     = "IdempotencyConflictException"
	EInvalidEndpointRegion   = "InvalidEndpointRegionException"
	EInvalidRegion           = "InvalidRegionException"
	EInvalidPublicKeyVersion = "InvalidPublicKeyVersionException"
	EPlatformNotSupported    = "PlatformNotSupportedException"
	EInvalidToken            = "InvalidTokenException"
	EDryRunOperation         = "DryRunOperation"
	EUnauthorized            = "UnauthorizedException"
	EInvalidParameter        = "InvalidParameterException" // the Entitlement Service's one client error

	// Codes used by the admin API and the stores, never sent to AWS clients
	// under these names.
	ENotFound = "NotFound"
	EConflict = "Conflict"
	EInvalid  = "Invalid"
)

// Error is the one error type of meterd. Code is what the client sees (an AWS
// exception name on the Metering API); Message is safe to show the client.
// Anything that is not an *Error is internal: the client sees a generic
// message and the detail goes to the log.
type Error struct {
	Code    string
	Message string
	// Reason and Fields are the Agreement Service's ValidationException
	// members (the model's reason enum, and the members at fault); empty
	// for every other error.
	Reason string
	Fields []ErrorField
}

// ErrorField is a member a ValidationException names, with what is wrong
// with it.
type ErrorField struct {
	Name    string
	Message string
}

// ErrorDetail returns the Reason and Fields of the first *Error in err's
// chain.
func ErrorDetail(err error) (reason string, fields []ErrorField) {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason, e.Fields
	}
	return "", nil
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("meterd error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err: the message of an
// *Error, or a generic text for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error has occurred."
}
