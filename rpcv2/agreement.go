package rpcv2

import (
	"github.com/meterd/meterd"
	"github.com/meterd/meterd/awsjson"
)

// AgreementNamespace is the Agreement Service's Smithy namespace, which
// prefixes its errors' __type.
const AgreementNamespace = "com.amazonaws.marketplaceagreement"

// Agreement is the Agreement Service's route table on RPC v2 CBOR
// (/service/AWSMPCommerceService_v20200301/operation/<Op>): the operations
// of awsjson.Agreement, in this protocol's codec.
func Agreement(svc meterd.AgreementService) *awsjson.Service {
	p := Protocol{Namespace: AgreementNamespace}
	return &awsjson.Service{
		Name:        awsjson.AgreementTarget,
		SigningName: "aws-marketplace",
		Protocol:    p,
		Operations:  awsjson.AgreementOperations(svc, p),

		InternalError: meterd.EInternalServer,
	}
}
