package awsjson

import "github.com/meterd/meterd"

// MeteringTarget is the Metering API's X-Amz-Target prefix (service name).
const MeteringTarget = "AWSMPMeteringService"

// Metering is the Metering API's target table on awsJson1_1 over svc.
func Metering(svc meterd.MeteringService) *Service {
	return &Service{
		Name:        MeteringTarget,
		SigningName: "aws-marketplace",
		Protocol:    JSON11,
		Operations: map[string]Operation{
			meterd.OpBatchMeterUsage: Bind(decodeBatchMeterUsage, svc.BatchMeterUsage, encodeBatchMeterUsage),
			meterd.OpMeterUsage:      Bind(decodeMeterUsage, svc.MeterUsage, encodeMeterUsage),
			meterd.OpRegisterUsage:   Bind(decodeRegisterUsage, svc.RegisterUsage, encodeRegisterUsage),
			meterd.OpResolveCustomer: Bind(decodeResolveCustomer, svc.ResolveCustomer, encodeResolveCustomer),
		},
	}
}
