module extdns

go 1.26.6

require sigs.k8s.io/external-dns v0.0.0

replace sigs.k8s.io/external-dns => ../src
